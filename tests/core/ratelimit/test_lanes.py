"""Interactive calls take the lane above ``high`` tasks: the last 5% of a budget that
background work of every priority leaves to a person waiting on a stream."""

from __future__ import annotations

import pytest

from agentqueue.core.base.errors import RateLimited
from agentqueue.core.base.priority import Priority
from agentqueue.core.llm.messages import ChatMessage, CompletionRequest
from agentqueue.core.ratelimit.budget import BudgetLimits
from agentqueue.core.ratelimit.gate import BudgetGate, estimate_input_tokens
from agentqueue.core.ratelimit.lanes import Lane, interactive, lane_of
from agentqueue.core.ratelimit.leases import Charge
from agentqueue.core.ratelimit.redis_budgets import RedisBudgets

BUDGET = "anthropic:claude-sonnet-4-6:default"
REQUEST = CompletionRequest(messages=[ChatMessage(role="user", content="Say hi")], max_tokens=50)


def test_only_high_calls_marked_interactive_take_the_interactive_lane() -> None:
    assert lane_of(Priority.HIGH) is Lane.HIGH
    with interactive():
        assert lane_of(Priority.HIGH) is Lane.INTERACTIVE
        # a key limited to lower priorities stays in its own lane
        assert lane_of(Priority.STANDARD) is Lane.STANDARD
    assert lane_of(Priority.HIGH) is Lane.HIGH


async def test_a_budget_high_tasks_emptied_still_serves_an_interactive_call(aredis) -> None:
    budgets = RedisBudgets(aredis)
    await budgets.configure(
        BUDGET, BudgetLimits(rpm=1000, tpm=10_000, margin=0, minute_seconds=3600)
    )
    per_call = estimate_input_tokens(REQUEST) + REQUEST.max_tokens
    # high tasks take the budget down to half a call above high's floor (5%)
    taken = 10_000 - 500 - per_call // 2
    await budgets.acquire([Charge(BUDGET, taken)], priority=Priority.HIGH, max_wait=0)
    gate = BudgetGate(budgets, max_wait=0.0)
    with pytest.raises(RateLimited, match="our limiter"):  # high leaves its last 5%
        await gate.admit("anthropic", "claude-sonnet-4-6", REQUEST, Priority.HIGH)
    with interactive():
        lease = await gate.admit("anthropic", "claude-sonnet-4-6", REQUEST, Priority.HIGH)
    assert lease is not None

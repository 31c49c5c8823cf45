"""Budgets: a task (``max_cost_usd``) or a session stops before the call that could
overspend, with a clear error naming what it spent — never after the limit is passed.
Calls already in flight when a step is refused finish and are recorded (paid for)."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from agentqueue.core.base.errors import BudgetExceeded
from agentqueue.core.base.priority import Priority
from agentqueue.core.llm.call_result import CallResult
from agentqueue.core.llm.catalog import load_catalog
from agentqueue.core.llm.messages import CompletionRequest
from agentqueue.core.tasks.model import TaskState
from agentqueue.core.tasks.store import TaskStore
from agentqueue.worker.agents.budget import CostGuard
from agentqueue.worker.runner import TaskFailed, TaskRunner
from tests.worker.agent_helpers import ok_calls, submit

QUESTIONS = [f"Sub-question number {i} about queues?" for i in range(10)]


def _priciest_call(prompt_tokens: int, max_tokens: int) -> Decimal:
    frontier = [m for m in load_catalog().models if m.tier == "frontier"]
    return max(
        (prompt_tokens * m.input + max_tokens * m.output) / Decimal(1_000_000) for m in frontier
    )


@pytest.mark.parametrize("parallel", [1, 8])
async def test_a_task_stops_at_its_budget_with_a_clear_error(
    runner: TaskRunner, store: TaskStore, simulator, parallel: int
) -> None:
    limit = Decimal("0.005")
    task_id = await submit(
        store,
        "map_reduce",
        params={"questions": QUESTIONS, "max_parallel": parallel},
        max_cost_usd=str(limit),
        max_tokens=128,
    )
    with pytest.raises(TaskFailed):
        await runner.run(task_id, retries_done=0, retries_left=3)
    record = await store.get(task_id)
    assert record.state is TaskState.FAILED and record.error is not None
    assert record.error.type == "BudgetExceeded" and not record.error.retryable
    assert "task budget of $0.005 would be exceeded" in record.error.message
    assert "stopped before it" in record.error.message
    assert 0 < len(record.calls) < len(QUESTIONS)
    assert record.cost_usd <= limit  # never past the limit, even with 8 calls in flight
    if parallel == 1:  # and not stopped early: the next call's worst case did not fit
        worst = _priciest_call(prompt_tokens=120, max_tokens=128)
        assert record.cost_usd + worst > limit - worst


async def test_a_task_within_its_budget_runs_to_the_end(
    runner: TaskRunner, store: TaskStore, simulator
) -> None:
    task_id = await submit(
        store, "map_reduce", params={"questions": QUESTIONS[:3]}, max_cost_usd="1.00"
    )
    await runner.run(task_id, retries_done=0, retries_left=0)
    record = await store.get(task_id)
    assert record.state is TaskState.SUCCEEDED and len(record.calls) == 4
    assert Decimal(0) < record.cost_usd < Decimal("1.00")


async def test_a_budget_too_small_for_one_call_makes_none(
    runner: TaskRunner, store: TaskStore, simulator
) -> None:
    task_id = await submit(store, "completion", max_cost_usd="0.000001")
    with pytest.raises(TaskFailed):
        await runner.run(task_id, retries_done=0, retries_left=0)
    record = await store.get(task_id)
    assert record.error is not None and record.error.type == "BudgetExceeded"
    assert record.calls == [] and simulator.stats()["providers"] == {}


class AnswersHeld:
    """The runner's pipeline, each answer held back (after the provider answered, so the
    call is paid for) until ``release`` is set: calls stay in flight as long as the test
    wants, without racing the scheduler."""

    def __init__(self, chain: Any) -> None:
        self.chain = chain
        self.release = asyncio.Event()
        self.answered = 0

    async def complete(
        self,
        request: CompletionRequest,
        priority: Priority,
        tenant: str | None = None,
        *,
        record_usage: bool = True,
        key_id: str | None = None,
    ) -> CallResult:
        result: CallResult = await self.chain.complete(
            request, priority, tenant, record_usage=record_usage, key_id=key_id
        )
        self.answered += 1
        await asyncio.wait_for(self.release.wait(), 60)
        return result


async def test_calls_in_flight_when_a_step_is_refused_finish_and_are_recorded(
    runner: TaskRunner, store: TaskStore, simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Eight steps start together; the budget admits some, refuses the next. The admitted
    calls are still in flight (their answers held) when the refusal fails the graph:
    they finish, are recorded with their cost, and only then does the task fail."""
    held = AnswersHeld(runner.chain)
    runner.chain = held
    reserve = CostGuard.reserve

    def reserve_then_release(self: CostGuard, worst: Decimal) -> Decimal:
        try:
            return reserve(self, worst)
        except BudgetExceeded:
            held.release.set()  # the answers come back only after a step was refused
            raise

    monkeypatch.setattr(CostGuard, "reserve", reserve_then_release)
    limit = Decimal("0.005")
    task_id = await submit(
        store,
        "map_reduce",
        params={"questions": QUESTIONS, "max_parallel": 8},
        max_cost_usd=str(limit),
        max_tokens=128,
    )
    with pytest.raises(TaskFailed):
        await runner.run(task_id, retries_done=0, retries_left=3)
    assert held.release.is_set()
    record = await store.get(task_id)
    assert record.state is TaskState.FAILED and record.error is not None
    assert record.error.type == "BudgetExceeded"
    answered = ok_calls(simulator)
    assert 0 < held.answered == len(answered) == len(record.calls) < 8  # none lost, none more
    assert record.cost_usd == sum((c.cost_usd for c in record.calls), Decimal(0))
    assert 0 < record.cost_usd <= limit


class CountingEndpoint:
    """A provider count endpoint that says how often it was asked."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.asked = inner, 0

    async def count(self, request: CompletionRequest, model: str) -> int:
        self.asked += 1
        return int(await self.inner.count(request, model))

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.mark.parametrize(
    ("max_cost_usd", "counted"), [(None, False), ("1000", False), ("0.025", True)]
)
async def test_the_provider_counts_a_prompt_only_when_a_budget_could_turn_on_it(
    runner: TaskRunner, store: TaskStore, simulator, max_cost_usd: str | None, counted: bool
) -> None:
    """No budget, or one far away: the calibrated estimate, no round trip to the
    provider before the call. A budget the call's worst case could cross at twice its
    estimate: the provider's exact count first. (About 2,000 prompt tokens and 1,000 out
    at Sonnet's $3/$15 a million: $0.0227 at the estimate, $0.030 at twice it.)"""
    endpoint = CountingEndpoint(runner.runtime.counter.endpoints["anthropic"])
    runner.runtime.counter.endpoints["anthropic"] = endpoint
    prompt = "Rate limits, caching and autoscaling interact. " * 285
    task_id = await submit(store, "completion", prompt, max_cost_usd=max_cost_usd, max_tokens=1000)
    await runner.run(task_id, retries_done=0, retries_left=0)
    assert (await store.get(task_id)).state is TaskState.SUCCEEDED
    assert endpoint.asked == (1 if counted else 0)

"""Helpers of the agent tests (tests/worker/test_agents_*.py); their fixtures are in
tests/worker/conftest.py.

Agents run in-process through the real :class:`TaskRunner`: real Redis, the official
SDKs, the simulator as every provider — so each LLM step is recorded, costed and
visible in the simulator's call log with its start and end times.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from agentqueue.core.llm.messages import ChatMessage, CompletionRequest, Tier
from agentqueue.core.llm.routing import TierChoice
from agentqueue.core.tasks.model import TaskRecord, TaskSpec
from agentqueue.core.tasks.store import TaskStore


async def submit(
    store: TaskStore,
    kind: str,
    content: str = "How do rate limits, caching and autoscaling interact for LLM agents?",
    *,
    params: dict[str, Any] | None = None,
    max_cost_usd: str | None = None,
    tier: TierChoice = TierChoice.FRONTIER,
    max_tokens: int = 256,
    system: str | None = None,
) -> str:
    """Create a queued task of ``kind`` for tenant ``t`` (as the gateway would); its id."""
    spec = TaskSpec(
        kind=kind,
        input=CompletionRequest(
            messages=[ChatMessage(role="user", content=content)],
            system=system,
            tier=Tier.FRONTIER if tier is TierChoice.AUTO else Tier(tier.value),
            max_tokens=max_tokens,
        ),
        params=params or {},
        max_cost_usd=Decimal(max_cost_usd) if max_cost_usd else None,
        tier_choice=TierChoice.AUTO if tier is TierChoice.AUTO else None,
    )
    record, _ = await store.create(TaskRecord(tenant="t", spec=spec))
    return record.id


def ok_calls(simulator: Any) -> list[dict[str, Any]]:
    """The simulator's answered calls, oldest first."""
    calls = [c for c in simulator.stats()["calls"] if c["status"] == 200]
    return sorted(calls, key=lambda c: c["start"])

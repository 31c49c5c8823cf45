"""Budgets: a task (``max_cost_usd``) or a session stops before the call that could
overspend, with a clear error naming what it spent — never after the limit is passed."""

from __future__ import annotations

from decimal import Decimal

import pytest

from agentqueue.core.llm.catalog import load_catalog
from agentqueue.core.tasks.model import TaskState
from agentqueue.core.tasks.store import TaskStore
from agentqueue.worker.runner import TaskFailed, TaskRunner
from tests.worker import test_agents_helpers as helpers
from tests.worker.test_agents_helpers import submit

runner, store = helpers.runner, helpers.store

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

"""map_reduce against the simulator with real latency: its independent calls overlap in
time (the simulator's own start/end timestamps), so the task takes about the longest of
them plus the synthesis, not their sum."""

from __future__ import annotations

import itertools

import pytest

from agentqueue.core.tasks.model import TaskState
from agentqueue.core.tasks.store import TaskStore
from agentqueue.worker.runner import TaskRunner
from tests.worker.agent_helpers import ok_calls, submit

QUESTIONS = [
    "What limits do providers enforce per minute?",
    "How does prompt caching change cost?",
    "When should a queue scale out?",
    "What fails when a context window overflows?",
]
LATENCY = {"all": {"speed": 1.0, "ttft_ms": 300.0, "ms_per_token": 3.0}}


def _phases(simulator, n: int) -> tuple[list[dict], dict]:  # type: ignore[no-untyped-def,type-arg]
    calls = ok_calls(simulator)
    assert len(calls) == n + 1
    return calls[:n], calls[n]


@pytest.mark.slow
async def test_independent_calls_overlap_and_the_task_takes_about_the_longest(
    runner: TaskRunner, store: TaskStore, simulator
) -> None:
    simulator.configure(LATENCY)
    task_id = await submit(store, "map_reduce", params={"questions": QUESTIONS})
    await runner.run(task_id, retries_done=0, retries_left=0)
    record = await store.get(task_id)
    assert record.state is TaskState.SUCCEEDED and record.result is not None

    maps, reduce = _phases(simulator, len(QUESTIONS))
    durations = [c["end"] - c["start"] for c in maps]
    assert max(c["start"] for c in maps) < min(c["end"] for c in maps)  # all in flight at once
    map_phase = max(c["end"] for c in maps) - min(c["start"] for c in maps)
    assert map_phase < max(durations) + 0.25
    assert map_phase < 0.6 * sum(durations)
    assert reduce["start"] >= max(c["end"] for c in maps)  # the synthesis waited for all

    steps = [c.step for c in record.calls]
    assert sorted(steps) == sorted([f"map:{i}" for i in range(4)] + ["reduce"])
    assert record.result.data["questions"] == QUESTIONS
    assert len(record.result.data["answers"]) == 4
    assert all(c.prices_as_of for c in record.calls)


@pytest.mark.slow
async def test_with_one_step_at_a_time_the_same_calls_take_their_sum(
    runner: TaskRunner, store: TaskStore, simulator
) -> None:
    simulator.configure(LATENCY)
    task_id = await submit(store, "map_reduce", params={"questions": QUESTIONS, "max_parallel": 1})
    await runner.run(task_id, retries_done=0, retries_left=0)
    assert (await store.get(task_id)).state is TaskState.SUCCEEDED
    maps, _ = _phases(simulator, len(QUESTIONS))
    for earlier, later in itertools.pairwise(maps):
        assert later["start"] >= earlier["end"]  # no overlap at all
    map_phase = max(c["end"] for c in maps) - min(c["start"] for c in maps)
    assert map_phase >= sum(c["end"] - c["start"] for c in maps)


async def test_without_questions_a_plan_step_asks_for_them(
    runner: TaskRunner, store: TaskStore, simulator
) -> None:
    task_id = await submit(store, "map_reduce", params={"max_questions": 3})
    await runner.run(task_id, retries_done=0, retries_left=0)
    record = await store.get(task_id)
    assert record.state is TaskState.SUCCEEDED and record.result is not None
    steps = [c.step for c in record.calls]
    assert steps[0] == "plan" and steps[-1] == "reduce"
    questions = record.result.data["questions"]
    assert 1 <= len(questions) <= 3 and len(steps) == len(questions) + 2

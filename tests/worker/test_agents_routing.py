"""Routing through the runner: ``auto`` picks the tier its rules say, the decision is on
every call record, and fallback keeps the tier that was picked."""

from __future__ import annotations

from agentqueue.core.llm.routing import TierChoice
from agentqueue.core.tasks.model import TaskState
from agentqueue.core.tasks.store import TaskStore
from agentqueue.worker.runner import TaskRunner
from tests.worker.agent_helpers import submit

QUESTIONS = ["Which limits apply?", "What does caching save?"]


async def test_auto_sends_sub_questions_to_efficient_and_the_synthesis_to_frontier(
    runner: TaskRunner, store: TaskStore, simulator
) -> None:
    task_id = await submit(
        store, "map_reduce", params={"questions": QUESTIONS}, tier=TierChoice.AUTO
    )
    await runner.run(task_id, retries_done=0, retries_left=0)
    record = await store.get(task_id)
    assert record.state is TaskState.SUCCEEDED
    by_step = {c.step: c for c in record.calls}
    for i in range(2):
        call = by_step[f"map:{i}"]
        assert call.model == "claude-haiku-4-5"
        assert call.route is not None and call.route.rule == "sub-questions"
        assert call.route.requested == "auto" and call.route.tier == "efficient"
    reduce = by_step["reduce"]
    assert reduce.model == "claude-sonnet-4-6"
    assert reduce.route is not None and reduce.route.by == "default"


async def test_an_explicit_tier_is_recorded_as_asked(
    runner: TaskRunner, store: TaskStore, simulator
) -> None:
    task_id = await submit(store, "completion", tier=TierChoice.EFFICIENT)
    await runner.run(task_id, retries_done=0, retries_left=0)
    [call] = (await store.get(task_id)).calls
    assert call.model == "claude-haiku-4-5"
    assert call.route is not None and call.route.by == "requested"


async def test_short_auto_completion_goes_efficient_long_one_frontier(
    runner: TaskRunner, store: TaskStore, simulator
) -> None:
    short = await submit(store, "completion", "Say hi", tier=TierChoice.AUTO)
    long = await submit(store, "completion", "context " * 40_000, tier=TierChoice.AUTO)
    for task_id in (short, long):
        await runner.run(task_id, retries_done=0, retries_left=0)
    [s] = (await store.get(short)).calls
    [lg] = (await store.get(long)).calls
    assert (s.model, s.route and s.route.rule) == ("claude-haiku-4-5", "short-chat")
    assert (lg.model, lg.route and lg.route.rule) == ("claude-sonnet-4-6", "long-context")


async def test_fallback_keeps_the_routed_tier(
    runner: TaskRunner, store: TaskStore, simulator
) -> None:
    simulator.configure({"anthropic": {"outage": True}})
    task_id = await submit(
        store, "map_reduce", params={"questions": QUESTIONS}, tier=TierChoice.AUTO
    )
    await runner.run(task_id, retries_done=0, retries_left=0)
    record = await store.get(task_id)
    assert record.state is TaskState.SUCCEEDED
    by_step = {c.step: c for c in record.calls}
    assert by_step["map:0"].model == "gpt-4.1-mini"  # efficient on the next provider
    assert by_step["reduce"].model == "gpt-4.1"  # frontier on the next provider
    assert by_step["map:0"].attempts[0].provider == "anthropic"

"""The session store on a real Redis: numbering, pairs, one step at a time, tenants."""

from __future__ import annotations

from decimal import Decimal

import pytest
import redis.asyncio as aioredis

from agentqueue.core.base.errors import SessionBusy, SessionClosed, SessionNotFound
from agentqueue.core.llm.messages import Usage
from agentqueue.core.sessions import Compaction, Item, ItemKind, SessionRecord, SessionStore


@pytest.fixture
def store(aredis: aioredis.Redis) -> SessionStore:
    return SessionStore(aredis, ttl=600)


def user(text: str) -> Item:
    return Item(kind=ItemKind.USER, content=text)


def tool_pair(call_id: str, result: str = "ok") -> list[Item]:
    return [
        Item(kind=ItemKind.TOOL_CALL, call_id=call_id, tool="t", content="{}"),
        Item(kind=ItemKind.TOOL_RESULT, call_id=call_id, tool="t", content=result),
    ]


async def test_turns_are_numbered_into_transcript_and_context(store: SessionStore) -> None:
    s = await store.create(SessionRecord(tenant="a"))
    first = await store.append(s.id, [user("one"), *tool_pair("c1")])
    second = await store.append(s.id, [user("two")])
    assert [i.seq for i in first + second] == [0, 1, 2, 3]
    assert await store.transcript(s.id) == await store.context(s.id) == first + second
    assert (await store.get(s.id)).items == 4


@pytest.mark.parametrize(
    "items",
    [
        [Item(kind=ItemKind.TOOL_CALL, call_id="c", tool="t", content="{}")],
        [Item(kind=ItemKind.TOOL_RESULT, call_id="c", tool="t", content="x")],
        [*tool_pair("a")[:1], user("between"), *tool_pair("a")[1:]],
        [*tool_pair("a")[:1], *tool_pair("b")[1:]],
        [Item(kind=ItemKind.SUMMARY, content="fake")],
    ],
)
async def test_a_tool_call_comes_with_its_result_or_nothing_is_added(
    store: SessionStore, items: list[Item]
) -> None:
    s = await store.create(SessionRecord(tenant="a"))
    with pytest.raises(ValueError):
        await store.append(s.id, items)
    assert await store.transcript(s.id) == []


async def test_one_step_at_a_time_and_no_turns_meanwhile(store: SessionStore) -> None:
    s = await store.create(SessionRecord(tenant="a"))
    await store.append(s.id, [user("hi")])
    await store.begin_step(s.id, "task_1")
    with pytest.raises(SessionBusy):
        await store.begin_step(s.id, "task_2")
    with pytest.raises(SessionBusy):
        await store.append(s.id, [user("more")])
    reply = await store.add_reply(s.id, Item(kind=ItemKind.ASSISTANT, content="hello"), "task_1")
    assert reply.seq == 1
    record = await store.add_spend(
        s.id,
        cost_usd=Decimal("0.01"),
        calls=2,
        usage=Usage(input_tokens=10, output_tokens=5),
        context_tokens=10,
        finished_step="task_1",
    )
    assert record.pending_step is None and record.steps == 1 and record.calls == 2
    assert record.cost_usd == Decimal("0.01") and record.usage.output_tokens == 5
    await store.append(s.id, [user("more")])
    # a stale claim (its task ended without releasing) can be taken over by name only
    await store.begin_step(s.id, "task_3")
    with pytest.raises(SessionBusy):
        await store.begin_step(s.id, "task_4", stale="task_x")
    await store.begin_step(s.id, "task_4", stale="task_3")
    assert (await store.get(s.id)).step_tasks == ["task_1", "task_3", "task_4"]


async def test_replace_context_keeps_the_transcript_and_logs_compactions(
    store: SessionStore,
) -> None:
    s = await store.create(SessionRecord(tenant="a"))
    items = await store.append(s.id, [user("a" * 100), *tool_pair("c", "r" * 1000), user("b")])
    await store.begin_step(s.id, "task_1")
    summary = Item(kind=ItemKind.SUMMARY, content="digest", covers=(0, 2))
    log = Compaction(
        tier="summarise",
        before_tokens=400,
        after_tokens=20,
        limit_tokens=1000,
        target_tokens=500,
        items=[0, 1, 2],
        summary_calls=1,
    )
    await store.replace_context(s.id, [summary, items[-1]], [log], "task_1")
    assert await store.context(s.id) == [summary, items[-1]]
    assert await store.transcript(s.id) == items
    assert await store.compactions(s.id) == [log]
    assert (await store.get(s.id)).compactions == 1
    with pytest.raises(SessionBusy):  # only the step holding the session may rewrite it
        await store.replace_context(s.id, [], [], "task_other")


async def test_sessions_are_tenant_scoped_and_closed_ones_take_nothing(
    store: SessionStore,
) -> None:
    s = await store.create(SessionRecord(tenant="a"))
    with pytest.raises(SessionNotFound):
        await store.get(s.id, tenant="b")
    with pytest.raises(SessionNotFound):
        await store.append(s.id, [user("x")], tenant="b")
    record, closed = await store.close(s.id, tenant="a")
    assert closed and record.state == "closed"
    assert (await store.close(s.id))[1] is False
    with pytest.raises(SessionClosed):
        await store.append(s.id, [user("x")])
    with pytest.raises(SessionClosed):
        await store.begin_step(s.id, "task_1")
    assert [r.id for r in await store.scan()] == [s.id]

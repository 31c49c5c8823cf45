"""The listing index's cursor is exact when many tasks share a millisecond."""

from __future__ import annotations

import redis.asyncio as aioredis

from agentqueue.core.llm.messages import ChatMessage, CompletionRequest
from agentqueue.core.tasks.listing import (
    BadCursor,
    decode_cursor,
    encode_cursor,
    index_key,
    list_tasks,
)
from agentqueue.core.tasks.model import TaskRecord, TaskSpec
from agentqueue.core.tasks.store import TaskStore

SPEC = TaskSpec(input=CompletionRequest(messages=[ChatMessage(role="user", content="hi")]))


async def test_tasks_of_one_millisecond_page_exactly(aredis: aioredis.Redis) -> None:
    store = TaskStore(aredis, ttl=600)
    ids = []
    for i in range(25):
        record = TaskRecord(tenant="t", spec=SPEC, created_at=1_800_000_000.123 + (i // 10))
        await store.create(record)
        ids.append(record.id)
    seen: list[str] = []
    cursor = None
    while True:
        page = await list_tasks(aredis, "t", limit=4, cursor=cursor)
        seen += [r.id for r in page.tasks]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == len(set(seen))
    assert await aredis.zcard(index_key("t")) == 25


async def test_a_cursor_round_trips_and_a_forged_one_is_refused(aredis: aioredis.Redis) -> None:
    assert decode_cursor(encode_cursor(123, "task_x")) == (123, "task_x")
    for bad in ("!!", "bm8tY29sb24", ""):
        try:
            decode_cursor(bad)
        except BadCursor:
            continue
        raise AssertionError(bad)


async def test_another_tenants_record_in_an_index_is_never_listed(
    aredis: aioredis.Redis,
) -> None:
    store = TaskStore(aredis, ttl=600)
    theirs = TaskRecord(tenant="other", spec=SPEC)
    await store.create(theirs)
    await aredis.zadd(index_key("t"), {theirs.id: 1})  # a corrupted index
    assert (await list_tasks(aredis, "t")).tasks == []

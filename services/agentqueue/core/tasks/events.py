"""A task's progress as an append-only log: one Redis Stream per task.

Polling ``GET /v1/tasks/{id}`` tells a client where a task *is*; the event log tells it
what *happened*, in order — queued, each start, each LLM call with its fallbacks, each
retry, and the one terminal outcome — and lets a reader that lost its connection resume
exactly where it stopped: the stream entry id is the SSE ``id:``, which a client sends
back as ``Last-Event-ID``.

A Stream rather than pub/sub because pub/sub forgets: a client that connects late, or
reconnects, must still see everything. Each stream is capped (``MAXLEN ~ 1000``; a task
that retries that often has a problem the log would not solve) and expires with the task
record's TTL, refreshed on every append.

Publishing is best-effort for callers that must not fail because of it (the runner): an
event lost to a Redis blip must not fail a task whose LLM call was already paid for. The
SSE endpoint covers a lost terminal event by reading the record (see ``task_events``).
"""

from __future__ import annotations

import json
import logging
import re
import time
from enum import StrEnum
from typing import Any

import redis.asyncio as aioredis
from pydantic import BaseModel
from redis.exceptions import RedisError

from agentqueue.core.tasks.model import TaskRecord

log = logging.getLogger(__name__)

#: Approximate cap on a task's log (``XADD MAXLEN ~``).
MAX_EVENTS = 1000

#: A stream entry id, the only accepted form of ``Last-Event-ID``.
EVENT_ID = re.compile(r"^\d{1,20}-\d{1,20}$")


class EventType(StrEnum):
    QUEUED = "queued"
    STARTED = "started"
    LLM_CALL = "llm_call"
    FALLBACK = "fallback"
    RETRY = "retry"
    CANCELLED = "cancelled"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    @property
    def terminal(self) -> bool:
        return self in (EventType.SUCCEEDED, EventType.FAILED, EventType.CANCELLED)


class TaskEvent(BaseModel):
    """One entry of a task's log; ``id`` is the stream id (empty when synthesised)."""

    id: str
    type: EventType
    data: dict[str, Any]


def terminal_data(record: TaskRecord) -> dict[str, Any]:
    """What a terminal event says: the outcome, and what the task used in all."""
    data: dict[str, Any] = {
        "attempts": record.attempts,
        "usage": record.usage.model_dump(),
        "cost_usd": float(record.cost_usd),
    }
    if record.result is not None:
        data["result"] = record.result.model_dump()
    if record.error is not None:
        data["error"] = record.error.model_dump()
    return data


def terminal_event(record: TaskRecord) -> TaskEvent:
    """The terminal event a finished record implies (no log id: it is not in the log)."""
    if not record.state.terminal:
        raise ValueError(f"task {record.id} is {record.state.value}, not finished")
    return TaskEvent(id="", type=EventType(record.state.value), data=terminal_data(record))


def events_key(task_id: str) -> str:
    return f"aq:task:{task_id}:events"


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class TaskEvents:
    """Append to and read from task event logs."""

    def __init__(self, redis: aioredis.Redis, *, ttl: int = 7 * 24 * 3600) -> None:
        self.redis = redis
        self.ttl = ttl

    async def publish(self, task_id: str, type_: EventType, data: dict[str, Any]) -> str:
        """Append one event (``at``: unix seconds, added to ``data``); return its id."""
        key = events_key(task_id)
        payload = json.dumps({"at": round(time.time(), 3), **data}, default=str)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xadd(
                key, {"type": type_.value, "data": payload}, maxlen=MAX_EVENTS, approximate=True
            )
            pipe.expire(key, self.ttl)
            event_id, _ = await pipe.execute()
        return _text(event_id)

    async def try_publish(self, task_id: str, type_: EventType, data: dict[str, Any]) -> None:
        """:meth:`publish`, logging instead of raising when Redis fails."""
        try:
            await self.publish(task_id, type_, data)
        except RedisError as exc:
            log.warning("task %s: event %s not published: %s", task_id, type_.value, exc)

    async def read(
        self, task_id: str, *, after: str = "0-0", block: float | None = None, count: int = 100
    ) -> list[TaskEvent]:
        """Events after the id ``after``, oldest first.

        With ``block`` (seconds), wait that long for the first new event when there is
        none yet; an empty list means none came.
        """
        key = events_key(task_id)
        block_ms = None if block is None else max(1, int(block * 1000))
        reply: Any = await self.redis.xread({key: after}, count=count, block=block_ms)
        streams = reply.items() if isinstance(reply, dict) else reply or []  # RESP3 or RESP2
        out = []
        for _stream, entries in streams:
            for entry_id, raw in entries:
                fields = {_text(k): _text(v) for k, v in raw.items()}
                out.append(
                    TaskEvent(
                        id=_text(entry_id),
                        type=EventType(fields["type"]),
                        data=json.loads(fields["data"]),
                    )
                )
        return out

"""A task's progress as an append-only log: one Redis Stream per task.

Polling ``GET /v1/tasks/{id}`` tells a client where a task *is*; the event log tells it
what *happened*, in order — queued, each start, each LLM call with its fallbacks, each
retry, and the one terminal outcome — and lets a reader that lost its connection resume
exactly where it stopped: the stream entry id is the SSE ``id:``, which a client sends
back as ``Last-Event-ID``.

A Stream rather than pub/sub because pub/sub forgets: a client that connects late, or
reconnects, must still see everything. Each stream is capped (``MAXLEN ~ 1000``; a task
that retries that often has a problem the log would not solve). While the task runs, the
stream expires with the task record's TTL, refreshed on every append; its terminal event
shortens that to ``events_ttl_after_finish`` (1 h by default), and nothing appended after
it (a call that was in flight when the task was cancelled) lengthens it again. The log was
most of a finished task's memory (about 4.7 of 6.5 KB); the record keeps the outcome,
usage and every call for ``task_ttl``, and the SSE endpoint ends a stream whose log has
expired with a terminal event built from the record.

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
from functools import cache
from typing import Any

import redis.asyncio as aioredis
from pydantic import BaseModel
from redis.exceptions import RedisError

from agentqueue.core.settings import CoreSettings
from agentqueue.core.tasks.model import TaskRecord

log = logging.getLogger(__name__)

#: Approximate cap on a task's log (``XADD MAXLEN ~``).
MAX_EVENTS = 1000

#: A stream entry id, the only accepted form of ``Last-Event-ID``.
EVENT_ID = re.compile(r"^\d{1,20}-\d{1,20}$")

#: Append one event and set the log's expiry, atomically. KEYS[1] the stream; ARGV: the
#: cap, type, data, the TTL while running, the TTL after the end, 1 if the event is
#: terminal. A log already shortened by its terminal event (TTL <= the after-end TTL) is
#: never lengthened again by a late event.
_PUBLISH = """
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*',
                      'type', ARGV[2], 'data', ARGV[3])
local running, finished = tonumber(ARGV[4]), tonumber(ARGV[5])
if ARGV[6] == '1' then
  redis.call('EXPIRE', KEYS[1], finished)
else
  local left = redis.call('TTL', KEYS[1])
  if left < 0 or left > finished or finished >= running then
    redis.call('EXPIRE', KEYS[1], running)
  end
end
return id
"""


@cache
def default_ttl_after_finish() -> int:
    """``AGENTQUEUE_EVENTS_TTL_AFTER_FINISH`` as this process's settings read it (once)."""
    return CoreSettings().events_ttl_after_finish


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


#: Events looked at from the end of a log for its terminal one.
MAX_TAIL_SCAN = 50


def events_key(task_id: str) -> str:
    return f"aq:task:{task_id}:events"


def event_data(data: dict[str, Any]) -> str:
    """An event's ``data`` field as stored: ``data`` with ``at`` (unix seconds), as JSON.
    (The acceptance script writes the ``queued`` event with it, ``core/tasks/accept.lua``.)"""
    return json.dumps({"at": round(time.time(), 3), **data}, default=str)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class TaskEvents:
    """Append to and read from task event logs.

    ``ttl``: seconds a running task's log is kept (the record's TTL). ``ttl_after_finish``:
    seconds it is kept after its terminal event (at most ``ttl``); by default this
    process's ``AGENTQUEUE_EVENTS_TTL_AFTER_FINISH``.
    """

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        ttl: int = 7 * 24 * 3600,
        ttl_after_finish: int | None = None,
    ) -> None:
        self.redis = redis
        self.ttl = ttl
        after = default_ttl_after_finish() if ttl_after_finish is None else ttl_after_finish
        self.ttl_after_finish = max(1, min(after, ttl))
        self._publish = redis.register_script(_PUBLISH)

    async def publish(self, task_id: str, type_: EventType, data: dict[str, Any]) -> str:
        """Append one event (``at``: unix seconds, added to ``data``); return its id.

        A terminal event shortens the log's life to ``ttl_after_finish``."""
        payload = event_data(data)
        event_id = await self._publish(
            keys=[events_key(task_id)],
            args=[
                MAX_EVENTS,
                type_.value,
                payload,
                self.ttl,
                self.ttl_after_finish,
                int(type_.terminal),
            ],
        )
        return _text(event_id)

    def publish_terminal_in(self, pipe: aioredis.client.Pipeline, record: TaskRecord) -> None:
        """Queue the terminal event of a finished ``record`` on ``pipe`` (a MULTI that
        writes the record): the state and its event reach Redis, its AOF and its replicas
        together, so a worker killed after the write, or a failover that loses the tail of
        the old primary's stream, cannot leave a finished task without its event."""
        event = terminal_event(record)
        pipe.eval(
            _PUBLISH,
            1,
            events_key(record.id),
            MAX_EVENTS,
            event.type.value,
            event_data(event.data),
            self.ttl,
            self.ttl_after_finish,
            1,
        )

    async def publish_terminal_if_missing(self, record: TaskRecord) -> bool:
        """Publish the terminal event a finished ``record`` implies unless its log has one;
        True if it was missing.

        A worker can die between writing the terminal state and publishing its event; the
        broker then delivers the task again, and the redelivery repairs the log through
        this. Events published after the terminal one (a call that was in flight when the
        task was cancelled) are looked past.
        """
        event = terminal_event(record)
        recent: Any = await self.redis.xrevrange(events_key(record.id), count=MAX_TAIL_SCAN)
        for _entry_id, raw in recent or []:
            fields = {_text(k): _text(v) for k, v in raw.items()}
            if EventType(fields["type"]).terminal:
                return False
        await self.publish(record.id, event.type, event.data)
        return True

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

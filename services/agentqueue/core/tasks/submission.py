"""Submitting a task: the one place a task record becomes a queued message.

Every path that queues a task goes through :func:`submit` — the task API
(``POST /v1/tasks``) and a session's step (``POST /v1/sessions/{id}/steps``).

**A 202 is a promise.** Acceptance is one Redis script (``accept.lua``), all or nothing,
in one round trip — shared by the submissions that reach it in the same turn of the
event loop, whose scripts go to Redis as one pipeline (``core/base/batched_script.py``;
each still runs alone, and fails or succeeds for its own caller):

- with an Idempotency-Key this tenant already used, it answers the task the key created
  (``created`` False; :class:`IdempotencyConflict` if the body differs) and writes
  nothing — the task as it is, whatever state it reached;
- otherwise it appends the task's ``queued`` event to its log (``core/tasks/events.py``),
  writes the record, adds it to its tenant's listing index (``core/tasks/listing.py``),
  claims the key, adds the task to the in-flight index
  ``aq:inflight`` (the reconciler's, ``core/tasks/reconciler.py``) and writes the
  Dramatiq message itself, exactly as Dramatiq's Redis broker does (``HSET
  dramatiq:<queue>.msgs <id> <message>``, ``RPUSH dramatiq:<queue> <id>``), with the
  task's marker ``aq:msg`` (task id → ``<queue>|<id>``).

So a task that exists has a message (or, once a worker took it, a reconciler that gives
it a new one if that message is lost). If the script fails — Redis unreachable after
the client's retries, a refusal — nothing was written: :class:`QueueUnavailable`, which
the gateway answers with 503, and a retry with the same key creates the task afresh.
A script whose reply was lost and which the Redis client ran again finds its own record
(or its own key) and answers ``created``: never a second message, never a second event.

The ``queued`` event is always the first entry of the task's log: it is written by the
same script as the message, before it, and a script runs alone in Redis, so no worker
can take the message (and log ``started``) before the event exists. (It used to be
published by a call of its own before the script, for the same reason; the script now
does it in the same round trip, and a replay or a conflict leaves no stray log to
delete — ``bench/gateway_submit.py``.)
Dramatiq's ``enqueue`` middleware hooks run around the script as around
``broker.enqueue``. Whatever else the caller claimed for the task (a session's step) it
releases itself on :class:`QueueUnavailable`.

With tracing on, the message's ``trace`` option carries the W3C trace context of the
request that submitted it (``core/telemetry/tracing.py``), so the worker's spans join the
request's trace (``worker/tracing.py``); Dramatiq keeps options across its retries.
"""

from __future__ import annotations

import logging
import time
import weakref
from importlib import resources
from typing import Any

import dramatiq
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from agentqueue.core.base.batched_script import BatchedScript
from agentqueue.core.base.errors import IdempotencyConflict, QueueUnavailable
from agentqueue.core.queues.broker import (
    MARKER_KEY,
    NAMESPACE,
    messages_key,
    queue_key,
    stamped,
    task_message,
)
from agentqueue.core.tasks.events import MAX_EVENTS, EventType, event_data, events_key
from agentqueue.core.tasks.listing import TENANTS_KEY, created_ms, index_key, oldest_kept_ms
from agentqueue.core.tasks.model import TaskRecord
from agentqueue.core.tasks.store import INFLIGHT_KEY, TaskStore, idem_key, task_key
from agentqueue.core.telemetry import tracing

log = logging.getLogger(__name__)

_ACCEPT = resources.files("agentqueue.core.tasks").joinpath("accept.lua").read_text()

#: Seconds after acceptance the reconciler first looks at a task (then every interval).
FIRST_CHECK_S = 5.0


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


#: The acceptance script of each Redis client, batched per loop turn (``BatchedScript``):
#: the script is safe to run twice, as a batch retried through a blink may run it.
_ACCEPTORS: weakref.WeakKeyDictionary[aioredis.Redis, BatchedScript] = weakref.WeakKeyDictionary()


def _acceptor(redis: aioredis.Redis) -> BatchedScript:
    acceptor = _ACCEPTORS.get(redis)
    if acceptor is None:
        acceptor = _ACCEPTORS[redis] = BatchedScript(redis, _ACCEPT)
    return acceptor


async def submit(
    store: TaskStore,
    broker: dramatiq.Broker,
    record: TaskRecord,
    *,
    idempotency_key: str | None = None,
    body_hash: str = "",
    first_check_s: float = FIRST_CHECK_S,
) -> tuple[TaskRecord, bool]:
    """Accept ``record`` on its priority's queue: ``(record, created)``.

    ``created`` is False on an idempotent replay: the record is the task the key created
    earlier, as it is now, and nothing was written. Raises :class:`QueueUnavailable`
    when nothing could be written (no task exists then), and
    :class:`~agentqueue.core.base.errors.IdempotencyConflict` when the key was used with
    another body. ``broker`` is the process's Dramatiq broker: its namespace and its
    ``enqueue`` middleware; the script runs on ``store``'s Redis, the same server.
    """
    namespace = str(getattr(broker, "namespace", NAMESPACE))
    message = stamped(task_message(record.id, record.spec.priority))
    trace_context = tracing.inject()  # the caller's trace goes with the task (empty: off)
    if trace_context:
        message.options["trace"] = trace_context
    redis_message_id = str(message.options["redis_message_id"])
    queue = message.queue_name
    idem = idem_key(record.tenant, idempotency_key) if idempotency_key is not None else None
    queued = {"priority": record.spec.priority.value, "kind": record.spec.kind}
    try:
        broker.emit_before("enqueue", message, None)
        outcome, task_id = await _acceptor(store.redis)(
            [
                task_key(record.id),
                idem or task_key(record.id),
                INFLIGHT_KEY,
                MARKER_KEY,
                messages_key(namespace, queue),
                queue_key(namespace, queue),
                events_key(record.id),
                index_key(record.tenant),
                TENANTS_KEY,
            ],
            [
                record.id,
                record.model_dump_json(exclude_none=True),
                store.ttl,
                body_hash,
                "1" if idem else "0",
                time.time() + first_check_s,
                redis_message_id,
                message.encode(),
                queue,
                MAX_EVENTS,
                EventType.QUEUED.value,
                event_data(queued),
                created_ms(record),
                oldest_kept_ms(store.ttl),
                record.tenant,
            ],
        )
    except RedisError as exc:  # Redis unreachable (after the client's retries): no task
        log.warning("task %s could not be accepted: %s", record.id, exc)
        raise QueueUnavailable(record.id, exc) from exc
    outcome, task_id = _text(outcome), _text(task_id)
    if outcome == "created":
        broker.emit_after("enqueue", message, None)
        return record, True
    if outcome == "conflict":
        raise IdempotencyConflict("Idempotency-Key was already used with a different request body")
    return await store.get(task_id, tenant=record.tenant), False


__all__ = ["QueueUnavailable", "submit"]

"""Submitting a task: the one place a task record becomes a queued message.

Every path that queues a task goes through :func:`submit` — the task API
(``POST /v1/tasks``) and a session's step (``POST /v1/sessions/{id}/steps``) — so the
order of its writes, and what happens when the queue cannot be reached, is decided here
and only here:

1. the record is created (with the caller's Idempotency-Key, if any: a replay returns
   the task the key created and sends nothing);
2. its ``queued`` event is published, *before* the message: a fast worker's ``started``
   must never come first in the event log;
3. the Dramatiq message is sent;
4. if sending fails, the record is marked failed (``EnqueueFailed``: a worker will never
   see it) and :class:`QueueUnavailable` is raised, which the gateway answers with 503.
   Whatever else the caller claimed for the task (a session's step) it releases itself.

The sequence is not atomic: a process that dies between 1 and 3 leaves a ``queued``
record no worker will run. Writing the record and the message together (an outbox in
the same Redis transaction, relayed to the queue) is the fix, and it belongs in this
function — keep every submission going through it.
"""

from __future__ import annotations

import logging

import dramatiq
from anyio import to_thread

from agentqueue.core.base.errors import QueueUnavailable
from agentqueue.core.queues.broker import task_message
from agentqueue.core.tasks.events import EventType, TaskEvents
from agentqueue.core.tasks.model import TaskError, TaskRecord
from agentqueue.core.tasks.store import TaskStore

log = logging.getLogger(__name__)


async def submit(
    store: TaskStore,
    broker: dramatiq.Broker,
    record: TaskRecord,
    *,
    idempotency_key: str | None = None,
    body_hash: str = "",
) -> tuple[TaskRecord, bool]:
    """Create ``record``, publish its ``queued`` event and queue it on its priority's
    queue; ``(record, created)`` as :meth:`TaskStore.create` returns them.

    ``created`` is False on an idempotent replay: the record is the task the key
    created earlier, and nothing is published or sent again. Raises
    :class:`QueueUnavailable` (the task marked failed) when the message cannot be sent,
    and :class:`~agentqueue.core.base.errors.IdempotencyConflict` as ``create`` does.
    """
    record, created = await store.create(
        record, idempotency_key=idempotency_key, body_hash=body_hash
    )
    if not created:
        return record, False
    await TaskEvents(store.redis, ttl=store.ttl).try_publish(
        record.id,
        EventType.QUEUED,
        {"priority": record.spec.priority.value, "kind": record.spec.kind},
    )
    try:
        # Dramatiq's broker is synchronous: a thread keeps the event loop (and the
        # gateway's probes) responsive if Redis stalls. Measured cost: ~0.5 ms a task.
        await to_thread.run_sync(broker.enqueue, task_message(record.id, record.spec.priority))
    except Exception as exc:
        log.warning("task %s could not be queued: %s", record.id, exc)
        await store.fail(
            record.id,
            TaskError(type="EnqueueFailed", message=f"the task could not be queued: {exc}"),
        )
        raise QueueUnavailable(record.id, exc) from exc
    return record, True


__all__ = ["QueueUnavailable", "submit"]

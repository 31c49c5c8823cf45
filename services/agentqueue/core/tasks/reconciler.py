"""The reconciler: no accepted task stays ``queued`` or ``running`` forever.

Acceptance (``core/tasks/submission.py``) puts every task in the index ``aq:inflight``
(task id → when to look at it next) with a marker of its live message (``aq:msg``, kept
by every enqueue, ``core/queues/broker.py``); the task leaves both in the transaction
that makes it terminal (``core/tasks/store.py``). A pass takes the due entries (at most
``batch``, the longest overdue first) and, for each, in one script (``reconcile.lua``):

- record gone or terminal → out of the index;
- a provider batch owns it (``aq:task:{id}:batch``, ``core/batches``) → look again in
  ``interval`` seconds: its message was acked on purpose;
- its message exists — ready, delayed (a retry), or held by a worker (Dramatiq
  redelivers it if that worker dies) → look again in ``interval`` seconds;
- no message and the task ``queued`` or ``running`` — a worker acked it without
  finishing the record (Redis unreachable when it tried, and Dramatiq's retry could not
  be enqueued either), a message lost with a Redis restart, a message dead-lettered by
  Dramatiq for errors outside the runner → a new message, written by the script with
  the marker moved to it, and the count of such requeues raised; the record's
  ``last_error`` says so (type ``Lost``, retryable) and a ``retry`` event is published;
- no message after ``max_requeues`` requeues → the task fails visibly
  (``TaskError(type="Lost")``, ``failed`` event, its webhook queued).

**Never a second message for a task whose message is alive**: the check and the write
are one script, and every other enqueue of a task message writes the message and moves
the marker in one script too, so the marker always names the newest message; a message
leaves Dramatiq's hash only when a worker acks or dead-letters it, i.e. once no worker
runs it. Two reconcilers racing (every worker and every gateway run one) therefore
cannot both requeue: the second finds the first one's message alive. The lock (short,
renewed while a pass runs: ``core.base.pass_lock``) only spares the duplicate work. A
duplicate delivery that does happen (Dramatiq's at-least-once: a worker presumed dead, a
delayed message moved twice) is harmless: ``TaskStore.start``/``succeed`` refuse a
terminal record.

**Bound.** A task whose message is lost is requeued within about two intervals (its
next check is at most ``interval`` away, plus one pass's wait); a task held by a dead
worker first waits for Dramatiq's heartbeat timeout (then redelivered by the broker,
or requeued here if its message is gone): ``2 * interval + heartbeat_timeout``.

Not covered: a message still in Dramatiq's hash but held in the ack set of a worker
that is alive yet never received it (a ``fetch`` whose reply was lost); Dramatiq gives
it back only when that worker stops. Nor writes lost by Redis itself (AOF ``everysec``
can lose the last second, acceptance included; ``appendfsync always`` cannot): a
message lost that way while its worker still runs the task is requeued, and a second
run may then overlap the first — the compare-and-set keeps one outcome, and the calls
of both runs are recorded (they were both paid for).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import dramatiq

from agentqueue.core.base.errors import TaskNotFound
from agentqueue.core.base.pass_lock import renewed_lock
from agentqueue.core.base.priority import Priority
from agentqueue.core.queues.broker import (
    MARKER_KEY,
    NAMESPACE,
    messages_key,
    queue_key,
    stamped,
    task_message,
    webhook_message,
)
from agentqueue.core.tasks.events import EventType, TaskEvents
from agentqueue.core.tasks.model import TaskError, TaskRecord
from agentqueue.core.tasks.store import (
    INFLIGHT_KEY,
    REQUEUED_KEY,
    TaskStore,
    batch_owner_key,
    task_key,
)

log = logging.getLogger(__name__)

_RECONCILE = resources.files("agentqueue.core.tasks").joinpath("reconcile.lua").read_text()

LOCK_KEY = "aq:reconciler:lock"

Notify = Callable[[str, Priority], Awaitable[None]]


@dataclass
class PassReport:
    """What one pass did, by outcome (task ids)."""

    ran: bool = True
    outcomes: dict[str, list[str]] = field(default_factory=dict)

    def of(self, outcome: str) -> list[str]:
        return self.outcomes.get(outcome, [])


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _canonical(queue: str) -> str:
    return queue[:-3] if queue.endswith(".DQ") else queue


class Reconciler:
    """Requeues tasks whose message was lost, fails those lost too often (see above).

    ``broker``, when given, runs Dramatiq's ``enqueue`` middleware around each new
    message and names the namespace; ``notify`` queues the webhook of a task failed
    here (the worker's ``webhook_enqueuer``).
    """

    def __init__(
        self,
        store: TaskStore,
        *,
        broker: dramatiq.Broker | None = None,
        interval: float = 5.0,
        max_requeues: int = 3,
        batch: int = 500,
        notify: Notify | None = None,
    ) -> None:
        self.store = store
        self.redis = store.redis
        self.broker = broker
        self.namespace = str(getattr(broker, "namespace", NAMESPACE))
        self.interval = interval
        self.max_requeues = max_requeues
        self.batch = batch
        self.notify = notify
        self.events = TaskEvents(store.redis, ttl=store.ttl)
        self._script = self.redis.register_script(_RECONCILE)
        self.lock_seconds = max(10.0, 4 * interval)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Pass after pass, every ``interval`` seconds (jittered), until ``stop`` is set or
        the task is cancelled; a failed pass (Redis down) is logged and tried again."""
        stop = stop or asyncio.Event()
        while not stop.is_set():
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # never let the loop die: Redis comes back
                log.warning("reconciler pass failed: %s", exc)
            delay = self.interval * random.uniform(0.8, 1.2)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)

    async def run_once(self, now: float | None = None) -> PassReport:
        """One pass under the lock; ``ran`` is False when another process holds it."""
        async with renewed_lock(self.redis, LOCK_KEY, ttl=self.lock_seconds) as held:
            if not held:
                return PassReport(ran=False)
            return await self._pass(time.time() if now is None else now)

    async def _pass(self, now: float) -> PassReport:
        report = PassReport()
        raw_ids = await self.redis.zrangebyscore(INFLIGHT_KEY, "-inf", now, start=0, num=self.batch)
        ids = [_text(i) for i in raw_ids]
        if not ids:
            return report
        queues = await self._queues(ids)
        messages: dict[str, dramatiq.Message[Any]] = {}
        async with self.redis.pipeline(transaction=False) as pipe:
            for task_id in ids:
                queue = queues.get(task_id)
                message = stamped(task_message(task_id, Priority(queue))) if queue else None
                if message is not None:
                    messages[task_id] = message
                    await self._script(
                        keys=self._keys(task_id, queue or ""),
                        args=[
                            task_id,
                            self.namespace,
                            now + self.interval,
                            self.max_requeues,
                            message.options["redis_message_id"],
                            message.encode(),
                            message.queue_name,
                        ],
                        client=pipe,
                    )
                else:  # no record to read a queue from: the script only cleans up
                    await self._script(
                        keys=self._keys(task_id, Priority.STANDARD.value),
                        args=[task_id, self.namespace, now + self.interval, 0, "", "", ""],
                        client=pipe,
                    )
            results = await pipe.execute()
        for task_id, (outcome, count) in zip(ids, results, strict=True):
            name = _text(outcome)
            report.outcomes.setdefault(name, []).append(task_id)
            if name == "requeued":
                await self._requeued(task_id, int(count), messages[task_id])
            elif name == "exhausted" and task_id in messages:
                await self._lost(task_id, int(count))
        return report

    def _keys(self, task_id: str, queue: str) -> list[str]:
        return [
            task_key(task_id),
            INFLIGHT_KEY,
            MARKER_KEY,
            REQUEUED_KEY,
            messages_key(self.namespace, queue),
            queue_key(self.namespace, queue),
            batch_owner_key(task_id),  # owned by a provider batch: not lost
        ]

    async def _queues(self, ids: list[str]) -> dict[str, str]:
        """Each task's priority queue: from its marker, else from its record."""
        markers = await self.redis.hmget(MARKER_KEY, ids)
        out: dict[str, str] = {}
        unknown = []
        for task_id, marker in zip(ids, markers, strict=True):
            queue = _canonical(_text(marker).partition("|")[0]) if marker else ""
            if queue in {p.value for p in Priority}:
                out[task_id] = queue
            else:
                unknown.append(task_id)
        if unknown:
            async with self.redis.pipeline(transaction=False) as pipe:
                for task_id in unknown:
                    pipe.get(task_key(task_id))
                raws = await pipe.execute()
            for task_id, raw in zip(unknown, raws, strict=True):
                if raw is not None:
                    out[task_id] = TaskRecord.model_validate_json(raw).spec.priority.value
        return out

    async def _requeued(self, task_id: str, count: int, message: dramatiq.Message[Any]) -> None:
        """Tell the record, the event log and the middleware about a new message."""
        if self.broker is not None:
            self.broker.emit_before("enqueue", message, None)
            self.broker.emit_after("enqueue", message, None)
        error = TaskError(
            type="Lost",
            message=(
                "the task's queue message was lost (worker or Redis failure); "
                f"queued again ({count} of at most {self.max_requeues})"
            ),
            retryable=True,
        )
        log.warning("task %s: message lost; requeued (%d/%d)", task_id, count, self.max_requeues)
        try:
            await self.store.lost(task_id, error)
        except TaskNotFound:
            return
        await self.events.try_publish(
            task_id, EventType.RETRY, {"delay_s": 0, "error": error.model_dump()}
        )

    async def _lost(self, task_id: str, count: int) -> None:
        """Fail a task whose message was lost once more after ``count`` requeues."""
        error = TaskError(
            type="Lost",
            message=(
                f"the task's queue message was lost {count + 1} times (worker or Redis "
                "failures); given up"
            ),
        )
        try:
            failed = await self.store.fail(task_id, error)
        except TaskNotFound:
            return
        if not failed:
            return
        log.error("task %s: lost %d times; failed", task_id, count + 1)
        record = await self.store.get(task_id)  # its terminal event came with the write
        if record.spec.webhook_url and self.notify is not None:
            try:
                await self.notify(task_id, record.spec.priority)
            except Exception:
                log.exception("task %s: its webhook could not be queued", task_id)


def broker_notify(broker: dramatiq.Broker) -> Notify:
    """A ``notify`` that queues the webhook delivery on ``broker`` (in a thread)."""

    async def notify(task_id: str, priority: Priority) -> None:
        await asyncio.to_thread(broker.enqueue, webhook_message(task_id, priority))

    return notify


def start_reconciler(
    store: TaskStore, broker: dramatiq.Broker, settings: Any
) -> Callable[[], Awaitable[None]]:
    """Run a reconciler in this event loop (the gateway's lifespan), with ``settings``'
    ``reconcile_interval`` (0: none) and ``reconcile_max_requeues``; returns the
    coroutine function that stops it."""
    interval = float(getattr(settings, "reconcile_interval", 5.0))
    if interval <= 0:

        async def nothing() -> None:
            return None

        return nothing
    stop = asyncio.Event()
    reconciler = Reconciler(
        store,
        broker=broker,
        interval=interval,
        max_requeues=int(getattr(settings, "reconcile_max_requeues", 3)),
        notify=broker_notify(broker),
    )
    task = asyncio.create_task(reconciler.run(stop), name="reconciler")

    async def stop_it() -> None:
        stop.set()
        try:
            await asyncio.wait_for(task, timeout=10)
        except (TimeoutError, asyncio.CancelledError):
            task.cancel()

    return stop_it

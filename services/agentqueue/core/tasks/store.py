"""Task records in Redis, with transitions that are safe under redelivery.

Dramatiq acks late, so a message can be delivered twice: after a worker is SIGKILLed, or
when a retry races a slow worker. Every transition is therefore a compare-and-set
(``WATCH``/``MULTI``) on the record, and a terminal record is never changed again: a task
completes exactly once in its record whatever the broker does.

Keys (prefix ``aq:``): ``task:{id}`` the record as JSON, expiring ``ttl`` seconds after
its last write; ``idem:{tenant}:{key}`` the task an Idempotency-Key created, with the
hash of the body it was created with; ``inflight``, the tasks not finished yet (task id →
when the reconciler looks at it next, ``core/tasks/reconciler.py``), and ``msg``, each
task's live message (``core/queues/broker.py``). A task leaves both in the same
transaction that makes its record terminal (succeed, fail, cancel).

Every write here may be retried by the Redis client after a connection error (a Redis
blink, ``core/base/redisconn.py``), and a lost reply means the first try may have been
applied: a compare-and-set interrupted while watching is re-read and re-applied, so each
transition is written so that applying it twice is applying it once — ``add_call`` skips
a call whose id is already recorded, and ``succeed``/``fail`` given the run's ``attempt``
recognise a terminal state that run wrote itself.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

import redis.asyncio as aioredis

from agentqueue.core.base.cas import Then, update_record
from agentqueue.core.base.errors import IdempotencyConflict, TaskNotFound
from agentqueue.core.llm.usage import UsageLedger
from agentqueue.core.queues.broker import MARKER_KEY
from agentqueue.core.tasks.events import TaskEvents
from agentqueue.core.tasks.model import (
    CallRecord,
    TaskError,
    TaskRecord,
    TaskResult,
    TaskState,
    WebhookAttempt,
    WebhookState,
)

_PREFIX = "aq:"

#: Unfinished tasks, sorted by when the reconciler looks at each next.
INFLIGHT_KEY = f"{_PREFIX}inflight"
#: Messages the reconciler gave each unfinished task (its message had been lost).
REQUEUED_KEY = f"{_PREFIX}requeued"


def _task_key(task_id: str) -> str:
    return f"{_PREFIX}task:{task_id}"


def _cancel_key(task_id: str) -> str:
    return f"{_PREFIX}task:{task_id}:cancelled"


def _idem_key(tenant: str, key: str) -> str:
    return f"{_PREFIX}idem:{tenant}:{hashlib.sha256(key.encode()).hexdigest()}"


def task_key(task_id: str) -> str:
    """The record's key (the acceptance script and the reconciler write it too)."""
    return _task_key(task_id)


def batch_owner_key(task_id: str) -> str:
    """Set while a provider batch owns the task (``core/batches``): its message was acked,
    so the reconciler must not take the task for lost. Holds ``pending`` or the batch id."""
    return f"{_PREFIX}task:{task_id}:batch"


def idem_key(tenant: str, key: str) -> str:
    """The key an Idempotency-Key is claimed under, per tenant."""
    return _idem_key(tenant, key)


def _settled(task_id: str, events: TaskEvents) -> Then[TaskRecord]:
    """The writes that go with a terminal transition, in its transaction: the task's
    terminal event, and it is no longer in flight with a live message to watch."""

    def then(pipe: aioredis.client.Pipeline, record: TaskRecord) -> None:
        events.publish_terminal_in(pipe, record)
        pipe.zrem(INFLIGHT_KEY, task_id)
        pipe.hdel(MARKER_KEY, task_id)
        pipe.hdel(REQUEUED_KEY, task_id)

    return then


def settled_writes(task_id: str, events: TaskEvents) -> Then[TaskRecord]:
    """The writes of a terminal transition made outside this store (a batch result)."""
    return _settled(task_id, events)


class TaskStore:
    """CRUD and state transitions for :class:`TaskRecord`."""

    def __init__(self, redis: aioredis.Redis, *, ttl: int = 7 * 24 * 3600) -> None:
        self.redis = redis
        self.ttl = ttl
        #: Terminal events are written with the terminal state (see :func:`_settled`).
        self.events = TaskEvents(redis, ttl=ttl)
        #: Tenants' usage, written with a task's call record (:meth:`add_call`).
        self.ledger = UsageLedger(redis)

    async def create(
        self, record: TaskRecord, *, idempotency_key: str | None = None, body_hash: str = ""
    ) -> tuple[TaskRecord, bool]:
        """Store a new record; return ``(record, created)``.

        With an idempotency key already used by this tenant, return the task it created
        (``created`` False) — or raise :class:`IdempotencyConflict` if the body differs.
        """
        # The record is written before the key is claimed, so whoever loses the claim
        # always finds the winner's record; with its listing entry, as accept.lua does.
        from agentqueue.core.tasks.listing import (
            TENANTS_KEY,
            created_ms,
            index_key,
            oldest_kept_ms,
        )

        index = index_key(record.tenant)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(_task_key(record.id), record.model_dump_json(exclude_none=True), ex=self.ttl)
            pipe.zadd(index, {record.id: created_ms(record)})
            pipe.zremrangebyscore(index, "-inf", f"({oldest_kept_ms(self.ttl)}")
            pipe.expire(index, self.ttl)
            pipe.sadd(TENANTS_KEY, record.tenant)
            pipe.expire(TENANTS_KEY, self.ttl)
            await pipe.execute()
        if idempotency_key is not None:
            key = _idem_key(record.tenant, idempotency_key)
            claimed = await self.redis.set(key, f"{record.id} {body_hash}", nx=True, ex=self.ttl)
            if not claimed:
                await self.redis.delete(_task_key(record.id))
                existing = await self.redis.get(key) or b""
                if isinstance(existing, bytes):
                    existing = existing.decode()
                task_id, _, stored_hash = existing.partition(" ")
                if stored_hash[: len(body_hash)] != body_hash:  # stored whole before
                    raise IdempotencyConflict(
                        "Idempotency-Key was already used with a different request body"
                    )
                return await self.get(task_id, tenant=record.tenant), False
        return record, True

    async def get(self, task_id: str, *, tenant: str | None = None) -> TaskRecord:
        """The record, if it exists and (when ``tenant`` is given) belongs to that tenant."""
        raw = await self.redis.get(_task_key(task_id))
        if raw is None:
            raise TaskNotFound(f"task {task_id!r} not found")
        record = TaskRecord.model_validate_json(raw)
        if tenant is not None and record.tenant != tenant:
            raise TaskNotFound(f"task {task_id!r} not found")
        return record

    async def _update(
        self,
        task_id: str,
        change: Callable[[TaskRecord], bool],
        *,
        then: Then[TaskRecord] | None = None,
    ) -> TaskRecord | None:
        """Apply ``change`` atomically; it returns False to leave the record as it is.

        Returns the record as written, or None when ``change`` declined.
        """
        return await update_record(
            self.redis,
            _task_key(task_id),
            TaskRecord,
            change,
            ttl=self.ttl,
            missing=lambda: TaskNotFound(f"task {task_id!r} not found"),
            then=then,
        )

    async def start(self, task_id: str) -> TaskRecord | None:
        """Mark running and count the attempt; None if the task already finished."""

        def change(r: TaskRecord) -> bool:
            if r.state.terminal:
                return False
            r.state = TaskState.RUNNING
            r.attempts += 1
            r.started_at = r.started_at or time.time()
            return True

        return await self._update(task_id, change)

    async def add_call(self, task_id: str, call: CallRecord, *, ledger: bool = False) -> None:
        """Record a finished LLM call (it was paid for, whatever happens to the task).

        ``ledger``: add it to the tenant's usage ledger in the same transaction (a provider
        call made with ``record_usage=False``), so that the two never disagree — neither a
        crash between two writes nor a replayed write counts it once in one, twice or not
        at all in the other. The ledger is keyed by the model the chain asked for (the
        answered attempt's), as the call gate keys it.
        """

        def change(r: TaskRecord) -> bool:
            if any(c.id == call.id for c in r.calls):
                return False  # a retried write whose first try went through
            r.calls.append(call)
            return True

        def also_ledger(pipe: aioredis.client.Pipeline, r: TaskRecord) -> None:
            asked = next((a.model for a in reversed(call.attempts) if a.ok), call.model)
            self.ledger.record_in(
                pipe,
                r.tenant,
                asked,
                call.usage,
                call.cost_usd,
                key_id=r.key_id,
                tags=r.tags,
            )

        await self._update(task_id, change, then=also_ledger if ledger else None)

    async def succeed(
        self, task_id: str, result: TaskResult, *, attempt: int | None = None
    ) -> bool:
        """Record success; False if the task had already finished (a duplicate run).

        ``attempt`` is the run's (``TaskRecord.attempts`` as :meth:`start` returned it):
        a success this very run wrote already (its reply lost, the write retried) is
        True again, not mistaken for another run's."""
        mine: list[bool] = []

        def change(r: TaskRecord) -> bool:
            if r.state.terminal:
                ours = r.state is TaskState.SUCCEEDED and r.finished_attempt == attempt
                mine.append(attempt is not None and ours)
                return False
            r.state, r.result, r.error = TaskState.SUCCEEDED, result, None
            r.finished_at = time.time()
            r.finished_attempt = attempt
            return True

        written = await self._update(task_id, change, then=_settled(task_id, self.events))
        return written is not None or bool(mine and mine[-1])

    async def fail(self, task_id: str, error: TaskError, *, attempt: int | None = None) -> bool:
        """Record a terminal failure; False if the task had already finished (True again
        for the failure this run's ``attempt`` wrote itself, as for :meth:`succeed`)."""
        mine: list[bool] = []

        def change(r: TaskRecord) -> bool:
            if r.state.terminal:
                ours = r.state is TaskState.FAILED and r.finished_attempt == attempt
                mine.append(attempt is not None and ours)
                return False
            r.state, r.error = TaskState.FAILED, error
            r.finished_at = time.time()
            r.finished_attempt = attempt
            return True

        written = await self._update(task_id, change, then=_settled(task_id, self.events))
        return written is not None or bool(mine and mine[-1])

    async def requeued(self, task_id: str, error: TaskError) -> bool:
        """Back to queued after a transient error, keeping the error for the client."""

        def change(r: TaskRecord) -> bool:
            if r.state.terminal:
                return False
            r.state, r.last_error = TaskState.QUEUED, error
            return True

        return await self._update(task_id, change) is not None

    async def revive(self, task_id: str, *, next_check: float) -> TaskRecord | None:
        """A failed task back to queued, for an admin's requeue of its dead letter: its
        error kept as ``last_error``, and back in the in-flight index in the same
        transaction (due at ``next_check``), so the reconciler gives it a message if the
        requeue's own never arrives. None unless the task had failed."""

        def change(r: TaskRecord) -> bool:
            if r.state is not TaskState.FAILED:
                return False
            r.state, r.last_error, r.error = TaskState.QUEUED, r.error, None
            r.finished_at = None
            r.finished_attempt = None
            return True

        def in_flight(pipe: aioredis.client.Pipeline, record: TaskRecord) -> None:
            pipe.zadd(INFLIGHT_KEY, {task_id: next_check})
            pipe.hdel(REQUEUED_KEY, task_id)

        return await self._update(task_id, change, then=in_flight)

    async def lost(self, task_id: str, error: TaskError) -> bool:
        """Note on an unfinished task that its message was lost and a new one queued
        (the reconciler's); False if the task had finished meanwhile."""

        def change(r: TaskRecord) -> bool:
            if r.state.terminal:
                return False
            r.last_error = error
            return True

        return await self._update(task_id, change) is not None

    async def cancel(self, task_id: str, *, tenant: str | None = None) -> tuple[TaskRecord, bool]:
        """Cancel a queued or running task; return ``(record, cancelled)``.

        ``cancelled`` is False when the task had already finished (the record is returned
        as it is). Another tenant's task is :class:`TaskNotFound`, as for :meth:`get`.
        """
        seen: list[TaskRecord] = []

        def change(r: TaskRecord) -> bool:
            if tenant is not None and r.tenant != tenant:
                raise TaskNotFound(f"task {task_id!r} not found")
            seen.append(r)
            if r.state.terminal:
                return False
            r.state = TaskState.CANCELLED
            r.finished_at = time.time()
            return True

        def flag(pipe: aioredis.client.Pipeline, record: TaskRecord) -> None:
            pipe.set(_cancel_key(task_id), 1, ex=self.ttl)
            _settled(task_id, self.events)(pipe, record)

        written = await self._update(task_id, change, then=flag)
        return (written, True) if written is not None else (seen[-1], False)

    async def is_cancelled(self, task_id: str) -> bool:
        """Whether the task was cancelled: one key, written with the cancellation, so that
        a running task can ask before every step without reading its whole record."""
        return bool(await self.redis.exists(_cancel_key(task_id)))

    async def add_webhook_attempt(
        self, task_id: str, attempt: WebhookAttempt | None, state: WebhookState
    ) -> TaskRecord:
        """Append a delivery attempt (if any) and set the delivery's state."""

        def change(r: TaskRecord) -> bool:
            if r.webhook is None:
                raise ValueError(f"task {task_id!r} has no webhook")
            if attempt is not None:
                r.webhook.attempts.append(attempt)
            r.webhook.state = state
            return True

        written = await self._update(task_id, change)
        assert written is not None
        return written

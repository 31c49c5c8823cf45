"""Dead letters: the messages Dramatiq gave up on, listed, inspected, requeued, discarded.

Dramatiq's Redis broker keeps a queue's dead letters in ``<ns>:<queue>.XQ`` (a sorted
set, message id → when it died) and ``<ns>:<queue>.XQ.msgs`` (message id → the encoded
message), for its ``dead_message_ttl`` (a week). A ``run_task`` message dies with its
task's record ``failed`` (the runner records the failure before the message is
dead-lettered); a ``deliver_webhook`` message dies when its delivery gave up.

**Requeue, exactly once.** The dead letter is *claimed* first — removed from both keys
by one script that answers the message only to the caller whose ``ZREM`` removed it —
so two admins (or two clicks) requeueing at once requeue it once; the loser gets
:class:`DeadLetterNotFound`. For a task, its record then goes from ``failed`` back to
``queued`` and into the in-flight index in one transaction (``TaskStore.revive``),
and a new message is enqueued through the broker (which moves the task's marker). If
the process dies between the two, the reconciler finds the queued task without a
message and gives it one (``core/tasks/reconciler.py``): the task runs once either way.
A task that is no longer ``failed`` (someone else requeued it, or it expired) is not
revived, and the claimed message is put back: :class:`DeadLetterConflict`.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import dramatiq
import redis.asyncio as aioredis

from agentqueue.core.base.errors import TaskNotFound
from agentqueue.core.base.ids import random_uuid
from agentqueue.core.base.priority import Priority
from agentqueue.core.queues.broker import NAMESPACE, RUN_TASK_ACTOR, task_message
from agentqueue.core.tasks.model import TaskRecord
from agentqueue.core.tasks.store import TaskStore

#: The queues whose dead letters are looked at: one per priority.
QUEUES = tuple(p.value for p in Priority)
#: Seconds after a requeue the reconciler first checks the task has its message.
FIRST_CHECK_S = 5.0

_CLAIM = """
if redis.call("zrem", KEYS[1], ARGV[1]) == 0 then
    return false
end
local message = redis.call("hget", KEYS[2], ARGV[1])
redis.call("hdel", KEYS[2], ARGV[1])
return message
"""


class DeadLetterNotFound(LookupError):
    """No dead letter with that id (never, or requeued or discarded already)."""


class DeadLetterConflict(RuntimeError):
    """The dead letter's task is not failed any more: nothing to requeue."""


@dataclass(frozen=True)
class DeadLetter:
    message_id: str
    queue: str
    #: Unix seconds when Dramatiq dead-lettered it.
    died_at: float
    actor: str
    task_id: str | None
    message: dict[str, Any]
    #: The task's record (a ``run_task`` or ``deliver_webhook`` message), if it still exists.
    task: TaskRecord | None = None


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _xq(queue: str, namespace: str) -> tuple[str, str]:
    base = f"{namespace}:{queue}.XQ"
    return base, f"{base}.msgs"


class DeadLetters:
    def __init__(
        self,
        store: TaskStore,
        broker: dramatiq.Broker,
        *,
        queues: tuple[str, ...] = QUEUES,
    ) -> None:
        self.store = store
        self.redis: aioredis.Redis = store.redis
        self.broker = broker
        self.namespace = str(getattr(broker, "namespace", NAMESPACE))
        self.queues = queues
        self._claim = self.redis.register_script(_CLAIM)

    async def list(self, *, queue: str | None = None, limit: int = 100) -> list[DeadLetter]:
        """The newest dead letters (of one queue, or all), newest first, at most ``limit``
        per queue read — from the sorted sets, never a scan."""
        out: list[DeadLetter] = []
        for q in (queue,) if queue else self.queues:
            xq, msgs = _xq(q, self.namespace)
            entries: Any = await self.redis.zrevrange(xq, 0, limit - 1, withscores=True)
            if not entries:
                continue
            raws = await self.redis.hmget(msgs, [_text(m) for m, _ in entries])
            for (member, score), raw in zip(entries, raws, strict=True):
                if raw is not None:
                    out.append(await self._letter(q, _text(member), score, raw, with_task=False))
        out.sort(key=lambda d: d.died_at, reverse=True)
        return out[:limit]

    async def get(self, message_id: str) -> DeadLetter:
        for q in self.queues:
            xq, msgs = _xq(q, self.namespace)
            score = await self.redis.zscore(xq, message_id)
            if score is None:
                continue
            raw = await self.redis.hget(msgs, message_id)
            if raw is not None:
                return await self._letter(q, message_id, score, raw, with_task=True)
        raise DeadLetterNotFound(f"no dead letter {message_id!r}")

    async def _letter(
        self, queue: str, message_id: str, score: float, raw: Any, *, with_task: bool
    ) -> DeadLetter:
        message = dramatiq.Message.decode(raw if isinstance(raw, bytes) else raw.encode())
        task_id = str(message.args[0]) if message.args else None
        task = None
        if with_task and task_id:
            try:
                task = await self.store.get(task_id)
            except TaskNotFound:
                task = None
        return DeadLetter(
            message_id=message_id,
            queue=queue,
            died_at=score / 1000,
            actor=message.actor_name,
            task_id=task_id,
            message=message.asdict(),
            task=task,
        )

    async def requeue(self, message_id: str) -> DeadLetter:
        """Requeue the dead letter once (see the module docstring); the letter as it was."""
        letter = await self.get(message_id)
        xq, msgs = _xq(letter.queue, self.namespace)
        raw = await self._claim(keys=[xq, msgs], args=[message_id])
        if raw is None:
            raise DeadLetterNotFound(f"no dead letter {message_id!r}")
        message = dramatiq.Message.decode(raw if isinstance(raw, bytes) else raw.encode())
        if message.actor_name == RUN_TASK_ACTOR and letter.task_id:
            try:
                revived = await self.store.revive(
                    letter.task_id, next_check=time.time() + FIRST_CHECK_S
                )
            except TaskNotFound:
                revived = None
            if revived is None:
                await self._put_back(xq, msgs, message_id, letter.died_at, raw)
                raise DeadLetterConflict(
                    f"task {letter.task_id!r} is not failed (or is gone): nothing to requeue"
                )
            fresh: dramatiq.Message[Any] = task_message(revived.id, revived.spec.priority)
        else:
            options = {k: v for k, v in message.options.items() if k not in _RUN_STATE}
            fresh = dramatiq.Message(
                queue_name=letter.queue,  # a retry's message died as ``<queue>.DQ``
                actor_name=message.actor_name,
                args=message.args,
                kwargs=message.kwargs,
                options=options,
                message_id=random_uuid(),
            )
        await asyncio.to_thread(self.broker.enqueue, fresh)
        return letter

    async def _put_back(
        self, xq: str, msgs: str, message_id: str, died_at: float, raw: Any
    ) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zadd(xq, {message_id: died_at * 1000})
            pipe.hset(msgs, message_id, raw)
            await pipe.execute()

    async def discard(self, message_id: str) -> DeadLetter:
        letter = await self.get(message_id)
        xq, msgs = _xq(letter.queue, self.namespace)
        if await self._claim(keys=[xq, msgs], args=[message_id]) is None:
            raise DeadLetterNotFound(f"no dead letter {message_id!r}")
        return letter


#: A dead message's options that belong to its last run, not to a requeued one.
_RUN_STATE = frozenset({"redis_message_id", "retries", "traceback", "dead_message_ttl", "eta"})

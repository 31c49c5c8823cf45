"""Sessions in Redis: the record, the full transcript, the context, the compaction log.

Keys (prefix ``aq:session:``): ``{id}`` the record as JSON; ``{id}:transcript`` every
item ever added (a list, never trimmed); ``{id}:context`` the items the next call sends
(rewritten by compaction); ``{id}:compactions`` one JSON entry per compaction. All four
expire ``ttl`` seconds after the session's last write.

One step at a time: ``begin_step`` claims the session for a task (compare-and-set on the
record) and turns cannot be added while it holds it, so the worker rewriting the context
never races a client appending to it. A claim whose task ended without releasing it
(cancelled while queued, failed for good) is stale and can be taken over.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from decimal import Decimal

import redis.asyncio as aioredis

from agentqueue.core.base.cas import update_record
from agentqueue.core.base.errors import SessionBusy, SessionClosed, SessionNotFound
from agentqueue.core.llm.messages import Usage
from agentqueue.core.sessions.models import (
    Compaction,
    Item,
    ItemKind,
    SessionRecord,
    SessionState,
)

_PREFIX = "aq:session:"


def _key(session_id: str, part: str = "") -> str:
    return f"{_PREFIX}{session_id}{':' + part if part else ''}"


def check_pairs(items: Sequence[Item]) -> None:
    """Tool calls and results arrive together: each call with its result in the same
    append, right after it (so that no context can ever hold one without the other)."""
    expecting: Item | None = None
    for item in items:
        if expecting is not None:
            if item.kind is not ItemKind.TOOL_RESULT or item.call_id != expecting.call_id:
                raise ValueError(
                    f"tool call {expecting.call_id!r} must be followed by its tool_result"
                )
            expecting = None
        elif item.kind is ItemKind.TOOL_CALL:
            if not item.call_id:
                raise ValueError("a tool_call needs a call_id")
            expecting = item
        elif item.kind is ItemKind.TOOL_RESULT:
            raise ValueError(f"tool_result {item.call_id!r} does not follow its tool_call")
        elif item.kind is ItemKind.SUMMARY:
            raise ValueError("summaries are written by compaction, not added as turns")
    if expecting is not None:
        raise ValueError(f"tool call {expecting.call_id!r} has no tool_result")


class SessionStore:
    def __init__(self, redis: aioredis.Redis, *, ttl: int = 7 * 24 * 3600) -> None:
        self.redis = redis
        self.ttl = ttl

    async def create(self, record: SessionRecord) -> SessionRecord:
        await self.redis.set(_key(record.id), record.model_dump_json(), ex=self.ttl)
        return record

    async def get(self, session_id: str, *, tenant: str | None = None) -> SessionRecord:
        raw = await self.redis.get(_key(session_id))
        if raw is None:
            raise SessionNotFound(f"session {session_id!r} not found")
        record = SessionRecord.model_validate_json(raw)
        if tenant is not None and record.tenant != tenant:
            raise SessionNotFound(f"session {session_id!r} not found")
        return record

    async def _touch(self, session_id: str) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            for part in ("transcript", "context", "compactions"):
                pipe.expire(_key(session_id, part), self.ttl)
            await pipe.execute()

    async def _update(
        self,
        session_id: str,
        change: Callable[[SessionRecord], bool],
        *,
        then: Callable[[aioredis.client.Pipeline, SessionRecord], None] | None = None,
    ) -> SessionRecord | None:
        """Apply ``change`` to the record atomically (and ``then``'s writes in the same
        transaction); None when ``change`` declined."""

        def stamped(record: SessionRecord) -> bool:
            if not change(record):
                return False
            record.updated_at = time.time()
            return True

        record = await update_record(
            self.redis,
            _key(session_id),
            SessionRecord,
            stamped,
            ttl=self.ttl,
            missing=lambda: SessionNotFound(f"session {session_id!r} not found"),
            then=then,
        )
        if record is None:
            return None
        await self._touch(session_id)
        return record

    async def append(
        self, session_id: str, items: Sequence[Item], *, tenant: str | None = None
    ) -> list[Item]:
        """Add turns to the transcript and the context; the items as numbered."""
        check_pairs(items)
        numbered: list[Item] = []

        def change(r: SessionRecord) -> bool:
            if tenant is not None and r.tenant != tenant:
                raise SessionNotFound(f"session {session_id!r} not found")
            if r.state is SessionState.CLOSED:
                raise SessionClosed(f"session {session_id!r} is closed")
            if r.pending_step is not None:
                raise SessionBusy(
                    f"session {session_id!r} has step {r.pending_step} queued or running; "
                    "add turns when it has finished"
                )
            numbered[:] = [i.model_copy(update={"seq": r.items + n}) for n, i in enumerate(items)]
            r.items += len(items)
            return True

        def write(pipe: aioredis.client.Pipeline, _r: SessionRecord) -> None:
            if numbered:
                raw = [i.model_dump_json() for i in numbered]
                pipe.rpush(_key(session_id, "transcript"), *raw)
                pipe.rpush(_key(session_id, "context"), *raw)

        await self._update(session_id, change, then=write)
        return numbered

    async def add_reply(self, session_id: str, item: Item, task_id: str) -> Item:
        """The step's answer, appended by the worker holding the step."""
        numbered: list[Item] = []

        def change(r: SessionRecord) -> bool:
            if r.pending_step != task_id:
                raise SessionBusy(f"session {session_id!r} is not held by {task_id}")
            numbered[:] = [item.model_copy(update={"seq": r.items})]
            r.items += 1
            return True

        def write(pipe: aioredis.client.Pipeline, _r: SessionRecord) -> None:
            raw = numbered[0].model_dump_json()
            pipe.rpush(_key(session_id, "transcript"), raw)
            pipe.rpush(_key(session_id, "context"), raw)

        await self._update(session_id, change, then=write)
        return numbered[0]

    async def transcript(self, session_id: str, start: int = 0, end: int = -1) -> list[Item]:
        raw = await self.redis.lrange(_key(session_id, "transcript"), start, end)
        return [Item.model_validate_json(x) for x in raw]

    async def context(self, session_id: str) -> list[Item]:
        raw = await self.redis.lrange(_key(session_id, "context"), 0, -1)
        return [Item.model_validate_json(x) for x in raw]

    async def compactions(self, session_id: str) -> list[Compaction]:
        raw = await self.redis.lrange(_key(session_id, "compactions"), 0, -1)
        return [Compaction.model_validate_json(x) for x in raw]

    async def replace_context(
        self,
        session_id: str,
        items: Sequence[Item],
        compactions: Sequence[Compaction],
        task_id: str,
    ) -> None:
        """Write a compacted context and log its compactions, in one transaction."""

        def change(r: SessionRecord) -> bool:
            if r.pending_step != task_id:
                raise SessionBusy(f"session {session_id!r} is not held by {task_id}")
            r.compactions += len(compactions)
            return True

        def write(pipe: aioredis.client.Pipeline, _r: SessionRecord) -> None:
            key = _key(session_id, "context")
            pipe.delete(key)
            if items:
                pipe.rpush(key, *[i.model_dump_json() for i in items])
            if compactions:
                pipe.rpush(
                    _key(session_id, "compactions"), *[c.model_dump_json() for c in compactions]
                )

        await self._update(session_id, change, then=write)

    async def begin_step(
        self, session_id: str, task_id: str, *, tenant: str | None = None, stale: str | None = None
    ) -> SessionRecord:
        """Claim the session for ``task_id``; ``stale`` names a finished task's claim
        that may be taken over. Raises :class:`SessionBusy` while another step holds it."""

        def change(r: SessionRecord) -> bool:
            if tenant is not None and r.tenant != tenant:
                raise SessionNotFound(f"session {session_id!r} not found")
            if r.state is SessionState.CLOSED:
                raise SessionClosed(f"session {session_id!r} is closed")
            if r.pending_step is not None and r.pending_step != stale:
                raise SessionBusy(
                    f"session {session_id!r} has step {r.pending_step} queued or running"
                )
            r.pending_step = task_id
            r.step_tasks.append(task_id)
            return True

        record = await self._update(session_id, change)
        assert record is not None
        return record

    async def release_step(self, session_id: str, task_id: str) -> None:
        """Give up the claim (the step's task could not be queued, or is finished)."""

        def change(r: SessionRecord) -> bool:
            if r.pending_step != task_id:
                return False
            r.pending_step = None
            return True

        await self._update(session_id, change)

    async def add_spend(
        self,
        session_id: str,
        *,
        cost_usd: Decimal,
        calls: int,
        usage: Usage,
        context_tokens: int | None = None,
        finished_step: str | None = None,
    ) -> SessionRecord:
        """Add a step's calls to the session's totals; ``finished_step`` also ends it."""

        def change(r: SessionRecord) -> bool:
            r.cost_usd += cost_usd
            r.calls += calls
            r.usage = r.usage + usage
            if context_tokens is not None:
                r.context_tokens = context_tokens
            if finished_step is not None and r.pending_step == finished_step:
                r.pending_step = None
                r.steps += 1
            return True

        record = await self._update(session_id, change)
        assert record is not None
        return record

    async def close(
        self, session_id: str, *, tenant: str | None = None
    ) -> tuple[SessionRecord, bool]:
        """Close the session (no more turns or steps); ``(record, closed_now)``."""
        seen: list[SessionRecord] = []

        def change(r: SessionRecord) -> bool:
            if tenant is not None and r.tenant != tenant:
                raise SessionNotFound(f"session {session_id!r} not found")
            seen.append(r)
            if r.state is SessionState.CLOSED:
                return False
            if r.pending_step is not None:
                raise SessionBusy(f"session {session_id!r} has step {r.pending_step} running")
            r.state = SessionState.CLOSED
            return True

        written = await self._update(session_id, change)
        return (written, True) if written is not None else (seen[-1], False)

    async def scan(self, count: int = 1000) -> list[SessionRecord]:
        """Every session record (for reports); at most ``count`` per scan batch."""
        out = []
        async for key in self.redis.scan_iter(match=f"{_PREFIX}*", count=count):
            name = key.decode() if isinstance(key, bytes) else key
            if name.count(":") != 2:  # aq:session:{id}, not its lists
                continue
            raw = await self.redis.get(name)
            if raw is not None:
                out.append(SessionRecord.model_validate_json(raw))
        return out

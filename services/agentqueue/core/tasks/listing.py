"""Listing a tenant's tasks, newest first, by cursor — from an index, never ``SCAN``.

**The index.** ``aq:tasks:<tenant>`` is a sorted set, score = the task's creation time in
milliseconds, member = the task id. The acceptance script (``accept.lua``) adds a task
to it in the same script that writes the record, so a task that exists is listed and a
listed task existed; the same script drops the entries older than the records' TTL
(``ZREMRANGEBYSCORE``, cheap: only what expired since the last write) and renews the
set's own expiry, so an idle tenant's index goes with its records. The same script adds
the tenant to ``aq:task-tenants`` (:data:`TENANTS_KEY`, its expiry renewed likewise), so
a listing across tenants (the admin console's) never walks the keyspace. An entry whose record
expired a little earlier than its index entry (or was deleted) is skipped.

**Filters.** ``since``/``until`` are score ranges. ``status``, ``priority`` and ``kind``
are filtered while paging, over the records read by one ``MGET``: per-status indexes
would have to move a member on every transition (start, requeue, retry, succeed, fail,
cancel, the reconciler's), each a place to forget and a write more per transition, for
a listing that is read far less often than tasks change state. The work of one page is
bounded instead: it reads at most :data:`MAX_SCANNED` index entries (and their records);
a page that found fewer matches than asked still carries a cursor to continue from where
it stopped, so a rare filter over a long history costs several short requests, never one
unbounded one.

**Cursor.** Opaque: URL-safe base64 of ``<score>:<task id>`` of the last entry looked
at. Entries with the same score are ordered by id (descending, as ``ZREVRANGEBYSCORE``
returns them), so the cursor is exact even when many tasks share a millisecond.
"""

from __future__ import annotations

import base64
import binascii
import time
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis

from agentqueue.core.tasks.model import TaskRecord
from agentqueue.core.tasks.store import task_key

#: Index entries (and records) one page may look at, whatever its filters.
MAX_SCANNED = 1000
#: Records read per round trip while a filtered page fills.
_BATCH = 100


#: The tenants that have an index (written with it): listed without ``SCAN``.
TENANTS_KEY = "aq:task-tenants"


def index_key(tenant: str) -> str:
    return f"aq:tasks:{tenant}"


def created_ms(record: TaskRecord) -> int:
    """The index score: ``created_at`` to the millisecond, as the record stores it."""
    return round(round(record.created_at, 3) * 1000)


def oldest_kept_ms(ttl: int, now: float | None = None) -> int:
    """The oldest score an index keeps: the records' TTL back from now."""
    return int(((now or time.time()) - ttl) * 1000)


class BadCursor(ValueError):
    """A cursor this listing did not make."""


def encode_cursor(score: int, task_id: str) -> str:
    return base64.urlsafe_b64encode(f"{score}:{task_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, str]:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        score, _, task_id = text.partition(":")
        if not task_id:
            raise ValueError(cursor)
        return int(score), task_id
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadCursor("cursor: not a cursor this listing returned") from None


@dataclass(frozen=True)
class TaskFilter:
    status: str | None = None
    priority: str | None = None
    kind: str | None = None
    #: Unix seconds, inclusive.
    since: float | None = None
    until: float | None = None

    def matches(self, record: TaskRecord) -> bool:
        return (
            (self.status is None or record.state.value == self.status)
            and (self.priority is None or record.spec.priority.value == self.priority)
            and (self.kind is None or record.spec.kind == self.kind)
        )

    @property
    def by_record(self) -> bool:
        return self.status is not None or self.priority is not None or self.kind is not None


@dataclass
class TaskPage:
    tasks: list[TaskRecord] = field(default_factory=list)
    #: Where the next page starts; None when the listing is over.
    next_cursor: str | None = None
    #: Index entries this page looked at.
    scanned: int = 0


async def list_tasks(
    redis: aioredis.Redis,
    tenant: str,
    *,
    limit: int = 50,
    cursor: str | None = None,
    where: TaskFilter | None = None,
    max_scanned: int = MAX_SCANNED,
) -> TaskPage:
    """One page of ``tenant``'s tasks, newest first (see the module docstring)."""
    where = where or TaskFilter()
    key = index_key(tenant)
    low = "-inf" if where.since is None else str(int(where.since * 1000))
    high = int(where.until * 1000) if where.until is not None else None
    last: tuple[int, str] | None = decode_cursor(cursor) if cursor else None
    page = TaskPage()
    more = True  # whether the index may hold entries past ``last``
    while more and len(page.tasks) < limit and page.scanned < max_scanned:
        room = max_scanned - page.scanned
        want = min(room, _BATCH if where.by_record else limit - len(page.tasks))
        entries = await _next_entries(redis, key, last, high, low, want)
        more = len(entries) == want
        if not entries:
            break
        raws = await redis.mget([task_key(task_id) for task_id, _ in entries])
        for i, ((task_id, score), raw) in enumerate(zip(entries, raws, strict=True)):
            last = (score, task_id)
            page.scanned += 1
            if raw is None:
                continue  # expired or deleted before its index entry was trimmed
            record = TaskRecord.model_validate_json(raw)
            if record.tenant != tenant:  # never another tenant's, whatever the index says
                continue
            if where.matches(record):
                page.tasks.append(record)
                if len(page.tasks) == limit:
                    more = more or i < len(entries) - 1
                    break
    if more and last is not None and len(page.tasks) == limit:
        more = bool(await _next_entries(redis, key, last, high, low, 1))  # a last empty page?
    if more and last is not None:
        page.next_cursor = encode_cursor(*last)
    return page


async def _next_entries(
    redis: aioredis.Redis,
    key: str,
    after: tuple[int, str] | None,
    high: int | None,
    low: str,
    count: int,
) -> list[tuple[str, int]]:
    """Up to ``count`` index entries after ``after`` (newest first): first those sharing
    its score with a smaller id, then those with lower scores."""
    out: list[tuple[str, int]] = []
    top: str
    if after is not None:
        score, task_id = after
        same: Any = await redis.zrevrangebyscore(key, score, score, withscores=False)
        for member in same:
            name = member.decode() if isinstance(member, bytes) else member
            if name < task_id:
                out.append((name, score))
                if len(out) == count:
                    return out
        top = f"({score}"
    else:
        top = "+inf" if high is None else str(high)
    rest: Any = await redis.zrevrangebyscore(
        key, top, low, start=0, num=count - len(out), withscores=True
    )
    for member, score in rest:
        name = member.decode() if isinstance(member, bytes) else member
        out.append((name, int(score)))
    return out

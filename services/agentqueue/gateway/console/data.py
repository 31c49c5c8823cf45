"""What the console reads and changes, through core's own stores.

Why a module of its own: the pages render plain values and never touch Redis layouts,
and the pages call the same core functions as the admin API (``gateway/api/admin``):
the task index, :func:`usage_report`, :class:`DeadLetters`.
Everything here takes the tenant to scope by (None: an admin, every tenant), and every
read of a task goes through :meth:`TaskStore.get` with that tenant, the check the
public API makes (another tenant's task is not found).

What it costs Redis, since some reads walk the keyspace:

- the task list reads core's per-tenant index (``core/tasks/listing.py``); an admin's
  list of every tenant reads the set of tenants with an index (``aq:task-tenants``,
  written with the index, never a ``SCAN``) and merges their indexes newest first,
  looking at :data:`ADMIN_MAX_SCANNED` entries (and records) at most in all;
- the overview reuses :class:`RedisOverview` (``agentqueue top``'s reader), one per
  gateway process, read under a lock.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import heapq
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any

import redis.asyncio as aioredis

from agentqueue.core.llm.usage import UsageLedger, utc_today
from agentqueue.core.llm.usage_report import GroupBy, days_between, usage_report
from agentqueue.core.tasks import listing
from agentqueue.core.tasks.dead_letters import DeadLetter, DeadLetters
from agentqueue.core.tasks.events import TaskEvent
from agentqueue.core.tasks.listing import TENANTS_KEY, TaskFilter, index_key
from agentqueue.core.tasks.model import TaskRecord
from agentqueue.core.tasks.overview import Overview, RedisOverview
from agentqueue.core.tasks.store import TaskStore, task_key

#: Rows a listing shows.
LIST_LIMIT = 100
#: Index entries (and records) an admin's page of every tenant's tasks looks at, in all.
ADMIN_MAX_SCANNED = 1000
#: Index entries read per tenant and round trip while merging, at most.
_CHUNK = 100


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


# -- overview ---------------------------------------------------------------------------


class OverviewReader:
    """One :class:`RedisOverview` per process (it keeps counters between reads for the
    rates), read by one request at a time."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self._reader = RedisOverview(redis, source="gateway", failures=0)
        self._lock = asyncio.Lock()

    async def read(self, tenant: str | None) -> Overview:
        async with self._lock:
            overview = await self._reader.read()
        if tenant is not None:  # a tenant sees its own spend, no queues, no budgets
            overview.spend = {tenant: overview.spend.get(tenant, 0.0)}
            overview.queues, overview.budgets = [], []
        return overview


# -- tasks ------------------------------------------------------------------------------


@dataclass
class TaskList:
    tasks: list[TaskRecord]
    #: The next page's cursor (one tenant's listing only); None when there is no more.
    next_cursor: str | None = None


async def tenants_with_tasks(redis: aioredis.Redis) -> list[str]:
    """Tenants that have (or had, within the records' TTL) a task index."""
    return sorted(_text(t) for t in await redis.smembers(TENANTS_KEY))  # type: ignore[misc]


async def list_tasks(
    redis: aioredis.Redis,
    tenant: str | None,
    where: TaskFilter,
    *,
    cursor: str | None = None,
    limit: int = LIST_LIMIT,
    max_scanned: int | None = None,
) -> TaskList:
    """The newest tasks matching ``where``, from core's per-tenant index
    (``core/tasks/listing.py``, what ``GET /v1/tasks`` pages through). ``tenant`` None (an
    admin): every tenant's, merged newest first, without a cursor, having looked at
    ``max_scanned`` (:data:`ADMIN_MAX_SCANNED`) index entries at most in all (what was
    found by then)."""
    if tenant is not None:
        page = await listing.list_tasks(redis, tenant, limit=limit, cursor=cursor, where=where)
        return TaskList(page.tasks, page.next_cursor)
    cap = ADMIN_MAX_SCANNED if max_scanned is None else max_scanned
    return TaskList(await _every_tenants(redis, where, limit, cap))


class _Merge:
    """Every tenant's index, newest first: a few entries per tenant at a time."""

    def __init__(self, redis: aioredis.Redis, where: TaskFilter, chunk: int) -> None:
        self.redis = redis
        self.low: str | int = "-inf" if where.since is None else int(where.since * 1000)
        self.high: str | int = "+inf" if where.until is None else int(where.until * 1000)
        self.chunk = chunk
        self.entries: dict[str, deque[tuple[str, float]]] = {}
        self.read: dict[str, int] = {}
        self.heap: list[tuple[float, str, str]] = []  # (-score, tenant, task id)

    async def fill(self, tenants: list[str]) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            for name in tenants:
                pipe.zrevrangebyscore(
                    index_key(name),
                    self.high,
                    self.low,
                    start=self.read.get(name, 0),
                    num=self.chunk,
                    withscores=True,
                )
            results = await pipe.execute()
        for name, got in zip(tenants, results, strict=True):
            self.read[name] = self.read.get(name, 0) + len(got)
            self.entries[name] = deque((_text(m), float(sc)) for m, sc in got)
            self._push(name)
            if len(got) < self.chunk:
                self.read[name] = -1  # the index is over

    def _push(self, name: str) -> None:
        if self.entries[name]:
            task_id, score = self.entries[name][0]
            heapq.heappush(self.heap, (-score, name, task_id))

    async def pop(self) -> tuple[str, str] | None:
        """The newest entry left: (tenant, task id)."""
        if not self.heap:
            return None
        _, name, task_id = heapq.heappop(self.heap)
        self.entries[name].popleft()
        if self.entries[name]:
            self._push(name)
        elif self.read[name] >= 0:
            await self.fill([name])
        return name, task_id


async def _every_tenants(
    redis: aioredis.Redis, where: TaskFilter, limit: int, max_scanned: int
) -> list[TaskRecord]:
    tenants = await tenants_with_tasks(redis)
    if not tenants:
        return []
    merge = _Merge(redis, where, max(1, min(_CHUNK, max_scanned // len(tenants))))
    await merge.fill(tenants)
    records: list[TaskRecord] = []
    scanned = 0
    while len(records) < limit and scanned < max_scanned:
        want = min(max_scanned - scanned, _CHUNK if where.by_record else limit - len(records))
        batch: list[tuple[str, str]] = []
        while len(batch) < want and (entry := await merge.pop()) is not None:
            batch.append(entry)
        if not batch:
            break
        scanned += len(batch)
        raws = await redis.mget([task_key(task_id) for _, task_id in batch])
        for (name, _), raw in zip(batch, raws, strict=True):
            if raw is None:
                continue  # expired before its index entry was trimmed
            record = TaskRecord.model_validate_json(raw)
            if record.tenant == name and where.matches(record) and len(records) < limit:
                records.append(record)
    return records


async def task_events(store: TaskStore, task_id: str) -> list[TaskEvent]:
    """The task's whole event log, oldest first (what ``/v1/tasks/{id}/events`` replays)."""
    out: list[TaskEvent] = []
    after = "0-0"
    while True:
        batch = await store.events.read(task_id, after=after)
        out += batch
        if len(batch) < 100:
            return out
        after = batch[-1].id


# -- spend ------------------------------------------------------------------------------


@dataclass
class Spend:
    """USD over the last ``days`` UTC days, grouped five ways (days oldest first)."""

    days: list[str]
    by_day: dict[str, float] = field(default_factory=dict)
    by_model: dict[str, float] = field(default_factory=dict)
    by_tenant: dict[str, float] = field(default_factory=dict)
    by_key: dict[str, float] = field(default_factory=dict)
    by_tag: dict[str, float] = field(default_factory=dict)
    calls: int = 0
    tokens: int = 0

    @property
    def total(self) -> float:
        return sum(self.by_day.values())


async def spend(ledger: UsageLedger, tenant: str | None, days: int = 14) -> Spend:
    """Spend by day, model, tenant, key and tag: :func:`usage_report`, what
    ``GET /admin/v1/usage`` answers, scoped to ``tenant`` unless None."""
    until = utc_today()
    since = until - dt.timedelta(days=days - 1)
    out = Spend(days=[d.isoformat() for d in days_between(since, until)])
    out.by_day = dict.fromkeys(out.days, 0.0)
    groups: tuple[GroupBy, ...] = ("day", "model", "tenant", "key", "tag")
    for group in groups:
        rows = await usage_report(ledger, group, since, until, tenant=tenant)
        values = {r.group: float(r.cost_usd) for r in rows}
        if group == "day":
            out.by_day.update(values)
            out.calls = sum(r.calls for r in rows)
            out.tokens = sum(r.input_tokens + r.output_tokens for r in rows)
        elif group == "key":
            out.by_key = {f"{r.group} ({r.tenant})": float(r.cost_usd) for r in rows}
        else:
            setattr(out, f"by_{group}", values)
    return out


# -- dead letters -----------------------------------------------------------------------


def dead_letters(state: Any) -> DeadLetters:
    """The app's :class:`DeadLetters` (core's; the admin API makes the same one)."""
    letters: DeadLetters | None = getattr(state, "dead_letters", None)
    if letters is None:
        letters = DeadLetters(state.store, state.broker)
        state.dead_letters = letters
    return letters


async def dead_letter_rows(state: Any, limit: int = LIST_LIMIT) -> list[DeadLetter]:
    """The newest dead letters, each with its task's record (one ``MGET`` for all:
    :meth:`DeadLetters.list` leaves them out)."""
    letters = await dead_letters(state).list(limit=limit)
    ids = [d.task_id for d in letters if d.task_id]
    raws = dict(zip(ids, await state.redis.mget([task_key(i) for i in ids]), strict=True))
    return [
        replace(d, task=TaskRecord.model_validate_json(raws[d.task_id]))
        if d.task_id and raws.get(d.task_id)
        else d
        for d in letters
    ]


__all__ = [
    "OverviewReader",
    "Spend",
    "TaskFilter",
    "TaskList",
    "dead_letter_rows",
    "dead_letters",
    "list_tasks",
    "spend",
    "task_events",
]

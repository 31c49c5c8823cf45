"""What the console reads and changes, through core's own stores.

Why a module of its own: the pages render plain values and never touch Redis layouts,
and the pages call the same core functions as the admin API (``gateway/api/admin``):
the task index, :func:`usage_report`, :class:`DeadLetters`.
Everything here takes the tenant to scope by (None: an admin, every tenant), and every
read of a task goes through :meth:`TaskStore.get` with that tenant, the check the
public API makes (another tenant's task is not found).

What it costs Redis, since some reads walk the keyspace:

- the task list reads core's per-tenant index (``core/tasks/listing.py``); an admin's
  list of every tenant finds the tenants by a ``SCAN`` of the index keys (one a tenant);
- the overview reuses :class:`RedisOverview` (``agentqueue top``'s reader), one per
  gateway process, read under a lock.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

import redis.asyncio as aioredis

from agentqueue.core.llm.usage import UsageLedger, utc_today
from agentqueue.core.llm.usage_report import GroupBy, days_between, usage_report
from agentqueue.core.tasks import listing
from agentqueue.core.tasks.dead_letters import DeadLetter, DeadLetters
from agentqueue.core.tasks.events import TaskEvent
from agentqueue.core.tasks.listing import TaskFilter, index_key
from agentqueue.core.tasks.model import TaskRecord
from agentqueue.core.tasks.overview import Overview, RedisOverview
from agentqueue.core.tasks.store import TaskStore, task_key

#: Rows a listing shows.
LIST_LIMIT = 100


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
    """Tenants that have a task index (one key each: a short walk)."""
    prefix = index_key("")
    found = {_text(k)[len(prefix) :] async for k in redis.scan_iter(match=f"{prefix}*")}
    return sorted(found)


async def list_tasks(
    redis: aioredis.Redis,
    tenant: str | None,
    where: TaskFilter,
    *,
    cursor: str | None = None,
    limit: int = LIST_LIMIT,
) -> TaskList:
    """The newest tasks matching ``where``, from core's per-tenant index
    (``core/tasks/listing.py``, what ``GET /v1/tasks`` pages through). ``tenant`` None (an
    admin): the first page of every tenant's, merged, without a cursor."""
    if tenant is not None:
        page = await listing.list_tasks(redis, tenant, limit=limit, cursor=cursor, where=where)
        return TaskList(page.tasks, page.next_cursor)
    records: list[TaskRecord] = []
    for name in await tenants_with_tasks(redis):
        records += (await listing.list_tasks(redis, name, limit=limit, where=where)).tasks
    records.sort(key=lambda r: r.created_at, reverse=True)
    return TaskList(records[:limit])


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

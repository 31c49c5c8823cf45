"""One snapshot of what the system is doing, for ``agentqueue top``: queues, budgets,
spend today, fallbacks and recent failures.

Why a module of its own: an operator's first questions ("is work piling up? which budget
is empty? who is spending? what failed?") are answered by four stores that each keep
their own layout — Dramatiq's broker keys, the limiter's budget hashes, the usage ledger,
the task records. :class:`Overview` is the one shape they are read into, whichever source
reads them: :class:`RedisOverview` here reads a Redis directly (a local stack, or a
cluster's Redis through a port-forward); ``agentqueue.cli.top_gateway`` reads a
gateway's Prometheus metrics into the same shape. The view renders the shape and never
knows which source filled it; what a source cannot know is ``None`` (shown as unknown),
never a made-up zero.

What :class:`RedisOverview` reads, and what it costs Redis per refresh:

- **queues**: :func:`~agentqueue.core.queues.depth.read_depth` per queue (one MULTI of
  four lengths); the oldest waiting message's age from the head of the queue list (the
  broker appends on the right and workers fetch from the left) and its Dramatiq
  ``message_timestamp``; the rate of finished messages from the per-minute counters the
  workers keep for the autoscaler (``core/queues/usage.py``), measured between two reads.
  Replicas are not in Redis (Dramatiq's heartbeats are per process, not per queue): None.
- **budgets**: every budget hash under the limiter's key prefix, found by a ``SCAN``
  (``MATCH aq:rl:budget:*``, type hash) — a walk over the whole keyspace, acceptable for
  an operator tool but not every second on a large one: the names found are kept and the
  walk redone after as many seconds as the keyspace has ten thousands of keys (``DBSIZE``,
  O(1)), between 1 and ``rediscover_s`` (30) — every second on a local stack, every 30 s
  on a Redis of 300,000 keys, so the walks read ~10,000 keys a second at most. Each
  budget is then read by
  :meth:`RedisBudgets.headroom` (the limiter's own ``peek``, which refills the level to
  now). Tenants' quota budgets (``tenant:<id>``) are left out: spend covers tenants.
  Denials and 429s are counted only in the processes' Prometheus metrics: None here.
- **spend today**: the usage ledger's hash per tenant and UTC day (``aq:usage:<tenant>:
  <date>``, field ``total_usd``), the tenants found by the same kind of cached ``SCAN``.
- **recent failures**: Dramatiq's dead letters. The task store keeps no index of failed
  tasks, but a task that fails for good is dead-lettered by its worker, and Dramatiq
  keeps each queue's dead letters in a sorted set by time (``dramatiq:<queue>.XQ``, a
  week): the newest ``failures`` of them, each message's task id, then the task record
  for its kind and error type. A task the reconciler failed as ``Lost`` had no message
  left to dead-letter and is not listed.
- **fallbacks**: counted only in the processes' metrics: None here.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import cast

import dramatiq
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from agentqueue.core.base.errors import LimiterUnavailable, UnknownBudget
from agentqueue.core.base.priority import Priority
from agentqueue.core.queues.broker import NAMESPACE, RUN_TASK_ACTOR
from agentqueue.core.queues.depth import queue_keys, read_depth
from agentqueue.core.queues.usage import bucket_of, usage_key
from agentqueue.core.ratelimit.quotas import BUDGET_KEY_PREFIX, TENANT_BUDGET_PREFIX
from agentqueue.core.ratelimit.redis_budgets import RedisBudgets
from agentqueue.core.tasks.model import TaskRecord
from agentqueue.core.tasks.store import task_key

#: The usage ledger's key prefix (``core/llm/usage.py``): ``aq:usage:<tenant>:<date>``.
USAGE_PREFIX = "aq:usage:"
#: The queues read by default: one per priority.
QUEUES = tuple(p.value for p in Priority)
#: Failed tasks listed by default.
DEFAULT_FAILURES = 10
#: Longest wait between two walks of the keyspace for budget and tenant keys.
DEFAULT_REDISCOVER_S = 30.0
#: Keys a walk may read per second of wait, on average: it waits ``DBSIZE / this``.
WALK_KEYS_PER_S = 10_000


@dataclass(frozen=True)
class QueueRow:
    name: str
    #: Messages that need a worker now: waiting, plus fetched and not acked yet.
    depth: int
    #: Seconds the oldest waiting message has waited; None when none waits (or unknown).
    oldest_age_s: float | None
    #: Messages finished per second since the previous read; None on the first read.
    rate_per_s: float | None = None
    #: Worker processes on the queue, where the source knows it.
    replicas: int | None = None
    #: Scheduled for later (delays, retries' backoff); None when unknown.
    delayed: int | None = None
    #: Dead-lettered (failed for good, kept a week); None when unknown.
    dead: int | None = None


@dataclass(frozen=True)
class BudgetRow:
    provider: str
    model: str
    deployment: str
    available_tokens: float
    capacity_tokens: float
    available_requests: float | None = None
    capacity_requests: float | None = None
    #: Calls held back (turn beyond their deadline) and provider 429s, where known.
    denials: float | None = None
    provider_429s: float | None = None

    @property
    def name(self) -> str:
        return f"{self.provider}:{self.model}:{self.deployment}"

    @property
    def fraction(self) -> float:
        """Available tokens over capacity, 0..1."""
        if self.capacity_tokens <= 0:
            return 0.0
        return max(0.0, min(1.0, self.available_tokens / self.capacity_tokens))


@dataclass(frozen=True)
class Failure:
    task_id: str
    kind: str
    error_type: str
    #: Unix time the task was dead-lettered.
    at: float
    queue: str


@dataclass
class Overview:
    """What ``agentqueue top`` shows; None in a field: the source cannot know it."""

    #: Where it was read from (``redis://…`` without the password, or the gateway URL).
    source: str
    taken_at: float
    queues: list[QueueRow] = field(default_factory=list)
    budgets: list[BudgetRow] = field(default_factory=list)
    #: USD by tenant, over ``spend_scope``.
    spend: dict[str, float] = field(default_factory=dict)
    spend_scope: str = "today (UTC)"
    #: Fallbacks by ``provider:deployment`` they fell back from.
    fallbacks: dict[str, float] | None = None
    #: The newest failed tasks, newest first.
    failures: list[Failure] | None = None
    #: Failed tasks counted by kind (a source without the list may have counts).
    failed_by_kind: dict[str, float] | None = None
    #: What this source could not read, in a line each (shown under the panels).
    notes: list[str] = field(default_factory=list)

    @property
    def spend_total(self) -> float:
        return sum(self.spend.values())


def split_budget(name: str) -> tuple[str, str, str]:
    """``provider:model:deployment`` → its parts; a model name may hold colons itself
    (Bedrock's ``…-v1:0``), so the provider is the first part and the deployment the last."""
    parts = name.split(":")
    if len(parts) < 2:
        return name, "", "default"
    if len(parts) == 2:
        return parts[0], parts[1], "default"
    return parts[0], ":".join(parts[1:-1]), parts[-1]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class RedisOverview:
    """Reads an :class:`Overview` from Redis (see the module docstring for what and how).

    Keeps state between reads: the finished-message counters (for the rate) and the key
    names found by the last walk. One instance per view, read by one task at a time.
    """

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        source: str = "redis",
        queues: Sequence[str] = QUEUES,
        namespace: str = NAMESPACE,
        failures: int = DEFAULT_FAILURES,
        rediscover_s: float = DEFAULT_REDISCOVER_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.redis = redis
        self.source = source
        self.queues = tuple(queues)
        self.namespace = namespace
        self.failures = failures
        self.rediscover_s = rediscover_s
        self.clock = clock
        self.budgets = RedisBudgets(redis, prefix=BUDGET_KEY_PREFIX.removesuffix("budget:"))
        self._finished: dict[tuple[str, int], int] = {}
        self._last_read: float | None = None
        self._budget_names: list[str] = []
        self._tenants: list[str] = []
        self._discovered_at: float | None = None
        self._discovered_day: str = ""

    async def read(self) -> Overview:
        now = self.clock()
        today = dt.datetime.fromtimestamp(now, dt.UTC).date().isoformat()
        if (
            self._discovered_at is None
            or now - self._discovered_at >= await self._walk_every()
            or today != self._discovered_day
        ):
            await self._discover(today)
            self._discovered_at, self._discovered_day = now, today
        overview = Overview(source=self.source, taken_at=now)
        overview.queues = await self._queues(now)
        overview.budgets = await self._budgets()
        overview.spend = await self._spend(today)
        overview.failures = await self._failures()
        overview.notes = [
            "replicas, denials, 429s and fallbacks are counted in the processes' metrics, "
            "not in Redis: use --gateway to see them",
        ]
        self._last_read = now
        return overview

    async def _walk_every(self) -> float:
        """Seconds between walks: 1 per ten thousand keys, within [1, rediscover_s]."""
        keys = int(await self.redis.dbsize())
        return min(self.rediscover_s, max(1.0, keys / WALK_KEYS_PER_S))

    async def _discover(self, today: str) -> None:
        """Walk the keyspace for budget hashes and today's usage hashes (cached)."""
        names: set[str] = set()
        async for key in self.redis.scan_iter(
            match=f"{BUDGET_KEY_PREFIX}*", count=1000, _type="hash"
        ):
            name = _text(key).removeprefix(BUDGET_KEY_PREFIX)
            if not name.startswith(TENANT_BUDGET_PREFIX):
                names.add(name)
        self._budget_names = sorted(names)
        tenants: set[str] = set()
        suffix = f":{today}"
        async for key in self.redis.scan_iter(
            match=f"{USAGE_PREFIX}*{suffix}", count=1000, _type="hash"
        ):
            text = _text(key)
            tenants.add(text[len(USAGE_PREFIX) : -len(suffix)])
        self._tenants = sorted(tenants)

    async def _queues(self, now: float) -> list[QueueRow]:
        bucket = bucket_of(now)
        rows = []
        for queue in self.queues:
            depth = await read_depth(self.redis, queue, namespace=self.namespace)
            keys = queue_keys(queue, self.namespace)
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.lindex(keys["list"], 0)
                pipe.hget(usage_key(queue, bucket - 1), "messages")
                pipe.hget(usage_key(queue, bucket), "messages")
                head, before, current = await pipe.execute()
            oldest = await self._age(keys["msgs"], head, now) if head is not None else None
            rate = self._rate(queue, {bucket - 1: before, bucket: current}, now)
            rows.append(
                QueueRow(
                    name=queue,
                    depth=depth.active,
                    oldest_age_s=oldest,
                    rate_per_s=rate,
                    delayed=depth.delayed,
                    dead=depth.dead,
                )
            )
        return rows

    async def _age(self, messages_key: str, message_id: bytes | str, now: float) -> float | None:
        message = _message(await self.redis.hget(messages_key, _text(message_id)))
        if message is None:  # fetched between the two reads, or not Dramatiq's
            return None
        return max(0.0, now - message.message_timestamp / 1000)

    def _rate(
        self, queue: str, counters: dict[int, bytes | str | None], now: float
    ) -> float | None:
        """Finished messages per second since the last read, from the minute counters
        (a bucket not seen before counts from zero, so a minute's turn loses nothing)."""
        added = 0
        for bucket, raw in counters.items():
            value = int(raw) if raw is not None else 0
            added += max(0, value - self._finished.get((queue, bucket), 0))
            self._finished[queue, bucket] = value
        for key in [k for k in self._finished if k[0] == queue and k[1] not in counters]:
            del self._finished[key]
        if self._last_read is None or now <= self._last_read:
            return None
        return added / (now - self._last_read)

    async def _budgets(self) -> list[BudgetRow]:
        rows = []
        for name in self._budget_names:
            try:
                room = await self.budgets.headroom(name)
            except UnknownBudget:  # deleted since the walk
                continue
            except LimiterUnavailable as exc:
                raise RedisError(str(exc)) from exc
            provider, model, deployment = split_budget(name)
            rows.append(
                BudgetRow(
                    provider=provider,
                    model=model,
                    deployment=deployment,
                    available_tokens=room.available_tokens,
                    capacity_tokens=room.capacity_tokens,
                    available_requests=room.available_requests,
                    capacity_requests=room.capacity_requests,
                )
            )
        return rows

    async def _spend(self, today: str) -> dict[str, float]:
        if not self._tenants:
            return {}
        async with self.redis.pipeline(transaction=False) as pipe:
            for tenant in self._tenants:
                pipe.hget(f"{USAGE_PREFIX}{tenant}:{today}", "total_usd")
            raws = await pipe.execute()
        return {
            tenant: float(_text(raw))
            for tenant, raw in zip(self._tenants, raws, strict=True)
            if raw is not None
        }

    async def _failures(self) -> list[Failure]:
        if self.failures <= 0:
            return []
        dead: list[tuple[float, str, str]] = []  # (at, queue, task id)
        for queue in self.queues:
            xq = f"{self.namespace}:{queue}.XQ"
            newest = cast(
                list[tuple[bytes | str, float]],
                await self.redis.zrevrange(xq, 0, self.failures - 1, withscores=True),
            )
            if not newest:
                continue
            ids = [_text(member) for member, _ in newest]
            raws = await self.redis.hmget(f"{xq}.msgs", ids)
            for (_, score), raw in zip(newest, raws, strict=True):
                task_id = _task_of(raw)
                if task_id is not None:
                    dead.append((float(score) / 1000, queue, task_id))
        dead.sort(reverse=True)
        dead = dead[: self.failures]
        if not dead:
            return []
        records = await self.redis.mget([task_key(task_id) for _, _, task_id in dead])
        return list(_failures(dead, records))


def _message(raw: bytes | str | None) -> dramatiq.Message[object] | None:
    """A broker message as stored, decoded; None when absent or not Dramatiq's."""
    if raw is None:
        return None
    try:
        return dramatiq.Message.decode(raw if isinstance(raw, bytes) else raw.encode())
    except Exception:
        return None


def _task_of(raw: bytes | str | None) -> str | None:
    """The task id of a dead-lettered ``run_task`` message (None for other actors')."""
    message = _message(raw)
    if message is None or message.actor_name != RUN_TASK_ACTOR or not message.args:
        return None
    return str(message.args[0])


def _failures(
    dead: Iterable[tuple[float, str, str]], records: Iterable[bytes | str | None]
) -> Iterable[Failure]:
    for (at, queue, task_id), raw in zip(dead, records, strict=True):
        kind, error = "?", "record expired"
        if raw is not None:
            record = TaskRecord.model_validate_json(raw)
            kind = record.spec.kind
            error = record.error.type if record.error else record.state.value
        yield Failure(task_id=task_id, kind=kind, error_type=error, at=at, queue=queue)


__all__ = [
    "BudgetRow",
    "Failure",
    "Overview",
    "QueueRow",
    "RedisOverview",
    "split_budget",
]

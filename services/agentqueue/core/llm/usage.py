"""Usage and cost per tenant, by model and by UTC day: what ``GET /v1/usage`` reports
and what the daily spend quota is checked against.

One Redis hash per tenant and day (``aq:usage:<tenant>:<date>``), fields
``<model>|calls``, ``<model>|input_tokens``, ``<model>|output_tokens``,
``<model>|cached_tokens``, ``<model>|cost_usd`` and the day's ``total_usd``; one script
per call. Kept 400 days.

Recording is exactly once under retries: the Redis client retries a command whose
connection failed (``core/base/redisconn.py``), and when only the reply was lost the
first try was applied — replayed ``HINCRBY``s would count the call twice. Each
:meth:`UsageLedger.record` therefore carries an id of its own, claimed (``SET NX``, kept
ten minutes) in the same script as the increments: a replay finds it claimed and adds
nothing. A caller that calls ``record`` again after an error makes a new record (a new
id): it must call it once per paid call, as the call gate does. A task's calls are
recorded with the task's call record instead (:meth:`UsageLedger.record_in`), in one
transaction that the call's id makes exactly-once: no id key of its own.

The same call is also counted per API key and per metadata tag (issue 19), by the same
script or transaction, so the figures never disagree:

- ``aq:usage-key:<key_id>:<date>``: the key's day, the same fields as the tenant's;
- ``aq:usage-key:<key_id>:<YYYY-MM>``: the key's month, ``total_usd`` only (its monthly
  spend quota reads one field);
- ``aq:usage-tag:<tenant>:<date>``: the tenant's tags, fields ``<k>=<v>|<model>|<counter>``
  and ``<k>=<v>|total_usd``. Tag values are the caller's (``x-agentqueue-tags``), so
  the distinct ``k=v`` a tenant's day counts are capped (:data:`MAX_TAG_VALUES`, kept
  in ``aq:usage-tag-values:<tenant>:<date>``, admitted in the same script or
  transaction as the increments): a value beyond the cap is counted as ``<k>=other``,
  and once :data:`OTHER_TAG_KEYS` such ``other`` buckets are taken too, as
  ``other=other``. The tag hash therefore holds a bounded number of fields whatever
  callers send, and its totals stay exact;
- ``aq:usage-tenants:<date>`` and ``aq:usage-keys:<date>`` (``<tenant>|<key_id>``): who had
  usage that day, so the admin API groups without ``SCAN``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from decimal import Decimal

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from agentqueue.core.base.errors import LimiterUnavailable
from agentqueue.core.base.ids import random_id
from agentqueue.core.llm.messages import Usage

_KEEP_S = 400 * 24 * 3600
_TOTAL = "total_usd"
_SEEN_S = 600
#: Distinct ``k=v`` tag values counted per tenant and UTC day; beyond: ``k=other``.
MAX_TAG_VALUES = 1000
#: ``<k>=other`` buckets per tenant and day beyond :data:`MAX_TAG_VALUES`; beyond those:
#: ``other=other`` (tag names are the caller's too).
OTHER_TAG_KEYS = 64
#: How long a day's set of admitted tag values is kept (it is written that day only).
_TAG_VALUES_KEEP_S = 2 * 24 * 3600

# Counts one call under its tags: KEYS the tag hash and the day's set of admitted
# values; ``members`` the call's ``k=v``, ``incs`` (field, amount, is_float) triples.
_COUNT_TAGS = """
local function count_tags(hash, admitted, members, limit, reserve, incs, keep)
    local used = {}
    for _, member in ipairs(members) do
        local name = member
        if redis.call("sismember", admitted, member) == 0 then
            if redis.call("scard", admitted) < limit then
                redis.call("sadd", admitted, member)
            else
                name = string.match(member, "^([^=]*)=") .. "=other"
                if redis.call("sismember", admitted, name) == 0 then
                    if redis.call("scard", admitted) < limit + reserve then
                        redis.call("sadd", admitted, name)
                    else
                        name = "other=other"
                    end
                end
            end
        end
        if not used[name] then
            used[name] = true
            for _, inc in ipairs(incs) do
                if inc[3] then
                    redis.call("hincrbyfloat", hash, name .. "|" .. inc[1], inc[2])
                else
                    redis.call("hincrby", hash, name .. "|" .. inc[1], inc[2])
                end
            end
        end
    end
    redis.call("expire", hash, keep)
    redis.call("expire", admitted, math.min(tonumber(keep), VALUES_KEEP))
end
""".replace("VALUES_KEEP", str(_TAG_VALUES_KEEP_S))

# KEYS: the record's id, then the hashes, then the sets, then (with tags) the tag hash
# and the day's set of admitted tag values.
# ARGV: seconds kept, seconds the id is kept, number of hashes, number of sets, number of
# tags, distinct tag values admitted a day, ``other`` buckets beyond, then per hash its
# field prefix ("=" for a hash that takes the USD total alone), then per set its member,
# then per tag its ``k=v``, then the number of float increments, then (field, increment)
# pairs, the float ones last.
_RECORD = (
    _COUNT_TAGS
    + """
if not redis.call("set", KEYS[1], 1, "NX", "EX", ARGV[2]) then
    return 0
end
local nh, ns, nt = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local base = 7 + nh + ns + nt
local floats = tonumber(ARGV[base + 1])
local n = (#ARGV - base - 1) / 2
for h = 1, nh do
    local key, prefix = KEYS[1 + h], ARGV[7 + h]
    for i = 1, n do
        local field, amount = ARGV[base + 2 * i], ARGV[base + 1 + 2 * i]
        if prefix == "=" then
            if field == "total_usd" then
                redis.call("hincrbyfloat", key, field, amount)
            end
        elseif i > n - floats then
            redis.call("hincrbyfloat", key, prefix .. field, amount)
        else
            redis.call("hincrby", key, prefix .. field, amount)
        end
    end
    redis.call("expire", key, ARGV[1])
end
for j = 1, ns do
    local key = KEYS[1 + nh + j]
    redis.call("sadd", key, ARGV[7 + nh + j])
    redis.call("expire", key, ARGV[1])
end
if nt > 0 then
    local members, incs = {}, {}
    for t = 1, nt do
        members[t] = ARGV[7 + nh + ns + t]
    end
    for i = 1, n do
        incs[i] = {ARGV[base + 2 * i], ARGV[base + 1 + 2 * i], i > n - floats}
    end
    count_tags(
        KEYS[2 + nh + ns], KEYS[3 + nh + ns], members,
        tonumber(ARGV[6]), tonumber(ARGV[7]), incs, ARGV[1]
    )
end
return 1
"""
)

# The tags alone (``record_in``, queued in a transaction): KEYS the tag hash and the
# set of admitted values; ARGV seconds kept, values admitted a day, ``other`` buckets,
# number of tags, the tags' ``k=v``, the number of float increments, (field, increment)
# pairs, the float ones last.
_TAGS = (
    _COUNT_TAGS
    + """
local nt = tonumber(ARGV[4])
local base = 4 + nt
local floats = tonumber(ARGV[base + 1])
local n = (#ARGV - base - 1) / 2
local members, incs = {}, {}
for t = 1, nt do
    members[t] = ARGV[4 + t]
end
for i = 1, n do
    incs[i] = {ARGV[base + 2 * i], ARGV[base + 1 + 2 * i], i > n - floats}
end
count_tags(KEYS[1], KEYS[2], members, tonumber(ARGV[2]), tonumber(ARGV[3]), incs, ARGV[1])
return 1
"""
)

#: The field prefix of a hash that takes the call's USD total alone (a key's month).
_TOTAL_ONLY = "="


def _increments(
    model: str, usage: Usage, cost_usd: Decimal
) -> tuple[list[tuple[str, int]], list[tuple[str, str]]]:
    """What one call adds to its day's hash: integer counters, then the USD amounts."""
    counts = [
        (f"{model}|calls", 1),
        (f"{model}|input_tokens", usage.input_tokens),
        (f"{model}|output_tokens", usage.output_tokens),
        (f"{model}|cached_tokens", usage.cache_read_tokens + usage.cache_write_tokens),
    ]
    cost = repr(float(cost_usd))
    return counts, [(f"{model}|cost_usd", cost), (_TOTAL, cost)]


def _tag_members(tags: Mapping[str, str] | None) -> list[str]:
    return [f"{name}={value}" for name, value in sorted((tags or {}).items())]


def utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def seconds_to_month_end(now: dt.datetime | None = None) -> float:
    """Seconds until the next UTC month begins (a monthly spend quota resets then)."""
    now = now or dt.datetime.now(dt.UTC)
    first = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    nxt = (first + dt.timedelta(days=32)).replace(day=1)
    return (nxt - now).total_seconds()


class UsageLedger:
    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        prefix: str = "aq:usage:",
        max_tag_values: int = MAX_TAG_VALUES,
        other_tag_keys: int = OTHER_TAG_KEYS,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.max_tag_values = max_tag_values
        self.other_tag_keys = other_tag_keys
        self._record = redis.register_script(_RECORD)

    def _key(self, tenant: str, day: dt.date) -> str:
        return f"{self.prefix}{tenant}:{day.isoformat()}"

    def tenant_key(self, tenant: str, day: dt.date) -> str:
        return self._key(tenant, day)

    def key_day_key(self, key_id: str, day: dt.date) -> str:
        return f"{self.prefix.rstrip(':')}-key:{key_id}:{day.isoformat()}"

    def key_month_key(self, key_id: str, day: dt.date) -> str:
        return f"{self.prefix.rstrip(':')}-key:{key_id}:{day.strftime('%Y-%m')}"

    def tag_key(self, tenant: str, day: dt.date) -> str:
        return f"{self.prefix.rstrip(':')}-tag:{tenant}:{day.isoformat()}"

    def tag_values_key(self, tenant: str, day: dt.date) -> str:
        """The set of ``k=v`` admitted to the tenant's tag hash that day."""
        return f"{self.prefix.rstrip(':')}-tag-values:{tenant}:{day.isoformat()}"

    def tenants_key(self, day: dt.date) -> str:
        return f"{self.prefix.rstrip(':')}-tenants:{day.isoformat()}"

    def keys_key(self, day: dt.date) -> str:
        return f"{self.prefix.rstrip(':')}-keys:{day.isoformat()}"

    def _targets(
        self, tenant: str, key_id: str | None
    ) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """Where one call is counted (but its tags): (hash, field prefix) pairs and (set,
        member) pairs."""
        day = utc_today()
        hashes = [(self._key(tenant, day), "")]
        sets = [(self.tenants_key(day), tenant)]
        if key_id:
            hashes.append((self.key_day_key(key_id, day), ""))
            hashes.append((self.key_month_key(key_id, day), _TOTAL_ONLY))
            sets.append((self.keys_key(day), f"{tenant}|{key_id}"))
        return hashes, sets

    def _tag_keys(self, tenant: str) -> list[str]:
        day = utc_today()
        return [self.tag_key(tenant, day), self.tag_values_key(tenant, day)]

    async def record(
        self,
        tenant: str,
        model: str,
        usage: Usage,
        cost_usd: Decimal,
        *,
        key_id: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        counts, amounts = _increments(model, usage, cost_usd)
        hashes, sets = self._targets(tenant, key_id)
        members = _tag_members(tags)
        args: list[str | int] = [_KEEP_S, _SEEN_S, len(hashes), len(sets), len(members)]
        args += [self.max_tag_values, self.other_tag_keys]
        args += [prefix for _, prefix in hashes]
        args += [member for _, member in sets]
        args += members
        args.append(len(amounts))
        for field, count in counts:
            args += [field, count]
        for field, amount in amounts:
            args += [field, amount]
        try:
            await self._record(
                keys=[
                    f"{self.prefix.rstrip(':')}-seen:{random_id()}",
                    *(key for key, _ in hashes),
                    *(key for key, _ in sets),
                    *(self._tag_keys(tenant) if members else []),
                ],
                args=args,
            )
        except RedisError as exc:
            raise LimiterUnavailable(f"redis: {exc}") from exc

    def record_in(
        self,
        pipe: aioredis.client.Pipeline,
        tenant: str,
        model: str,
        usage: Usage,
        cost_usd: Decimal,
        *,
        key_id: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        """Queue :meth:`record`'s increments on ``pipe``, a transaction that something
        else makes happen exactly once: a task's call record, whose call id a replayed
        write finds already there (``TaskStore.add_call``), so that the record and the
        ledger hold the same calls whatever crashes in between."""
        counts, amounts = _increments(model, usage, cost_usd)
        hashes, sets = self._targets(tenant, key_id)
        for key, prefix in hashes:
            if prefix != _TOTAL_ONLY:
                for field, count in counts:
                    pipe.hincrby(key, prefix + field, count)
            for field, amount in amounts:
                if prefix == _TOTAL_ONLY and field != _TOTAL:
                    continue
                pipe.hincrbyfloat(
                    key, (prefix if prefix != _TOTAL_ONLY else "") + field, float(amount)
                )
            pipe.expire(key, _KEEP_S)
        for key, member in sets:
            pipe.sadd(key, member)
            pipe.expire(key, _KEEP_S)
        members = _tag_members(tags)
        if members:
            args: list[str | int] = [_KEEP_S, self.max_tag_values, self.other_tag_keys]
            args += [len(members), *members, len(amounts)]
            for field, count in counts:
                args += [field, count]
            for field, amount in amounts:
                args += [field, amount]
            pipe.eval(_TAGS, 2, *self._tag_keys(tenant), *args)

    async def key_spent(self, key_id: str, *, month: bool = False) -> Decimal:
        """What the key spent today (UTC), or this month with ``month``."""
        today = utc_today()
        key = self.key_month_key(key_id, today) if month else self.key_day_key(key_id, today)
        try:
            raw = await self.redis.hget(key, _TOTAL)
        except RedisError as exc:
            raise LimiterUnavailable(f"redis: {exc}") from exc
        if not raw:
            return Decimal(0)
        return Decimal(raw.decode() if isinstance(raw, bytes) else raw)

    async def spent(self, tenant: str, day: dt.date | None = None) -> Decimal:
        try:
            raw = await self.redis.hget(self._key(tenant, day or utc_today()), _TOTAL)
        except RedisError as exc:
            raise LimiterUnavailable(f"redis: {exc}") from exc
        if not raw:
            return Decimal(0)
        return Decimal(raw.decode() if isinstance(raw, bytes) else raw)

    async def by_day(
        self, tenant: str, days: int = 7
    ) -> list[tuple[dt.date, dict[str, dict[str, Decimal]]]]:
        """The last ``days`` UTC days, newest first: per model its counters."""
        today = utc_today()
        wanted = [today - dt.timedelta(days=i) for i in range(days)]
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for day in wanted:
                    pipe.hgetall(self._key(tenant, day))
                raws = await pipe.execute()
        except RedisError as exc:
            raise LimiterUnavailable(f"redis: {exc}") from exc
        out = []
        for day, raw in zip(wanted, raws, strict=True):
            models: dict[str, dict[str, Decimal]] = defaultdict(dict)
            for field, value in raw.items():
                name = field.decode() if isinstance(field, bytes) else field
                if name == _TOTAL:
                    continue
                model, _, counter = name.rpartition("|")
                text = value.decode() if isinstance(value, bytes) else value
                models[model][counter] = Decimal(text)
            out.append((day, dict(models)))
        return out

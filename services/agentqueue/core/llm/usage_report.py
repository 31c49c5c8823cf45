"""Usage and spend grouped by tenant, key, model, tag or day, over a range of UTC days.

Read from the usage ledger's hashes (``core/llm/usage.py``): who had usage on a day is
in that day's sets (``aq:usage-tenants:<date>``, ``aq:usage-keys:<date>``), so a report
reads a bounded number of known keys — days times tenants (or keys) — never ``SCAN``. It is
what ``GET /admin/v1/usage`` answers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from agentqueue.core.llm.usage import UsageLedger

GroupBy = Literal["tenant", "key", "model", "tag", "day"]
COUNTERS = ("calls", "input_tokens", "output_tokens", "cached_tokens")
#: Days one report may cover.
MAX_DAYS = 400


@dataclass
class UsageRow:
    group: str
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    cost_usd: Decimal = Decimal(0)
    #: The tenant a key's row belongs to (group by key).
    tenant: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def add(self, counter: str, value: str) -> None:
        if counter == "cost_usd":
            self.cost_usd += Decimal(value)
        elif counter in COUNTERS:
            setattr(self, counter, getattr(self, counter) + int(Decimal(value)))


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def days_between(since: dt.date, until: dt.date) -> list[dt.date]:
    if until < since:
        raise ValueError("until is before since")
    n = (until - since).days + 1
    if n > MAX_DAYS:
        raise ValueError(f"at most {MAX_DAYS} days per report")
    return [since + dt.timedelta(days=i) for i in range(n)]


async def usage_report(
    ledger: UsageLedger,
    group_by: GroupBy,
    since: dt.date,
    until: dt.date,
    *,
    tenant: str | None = None,
) -> list[UsageRow]:
    """Rows by ``group_by``, the costliest first."""
    redis = ledger.redis
    days = days_between(since, until)
    rows: dict[str, UsageRow] = {}

    def row(name: str, owner: str | None = None) -> UsageRow:
        if name not in rows:
            rows[name] = UsageRow(group=name, tenant=owner)
        return rows[name]

    if group_by == "key":
        async with redis.pipeline(transaction=False) as pipe:
            for day in days:
                pipe.smembers(ledger.keys_key(day))
            members = await pipe.execute()
        wanted: list[tuple[dt.date, str, str]] = []
        for day, found in zip(days, members, strict=True):
            for member in found:
                owner, _, key_id = _text(member).partition("|")
                if tenant is None or owner == tenant:
                    wanted.append((day, owner, key_id))
        async with redis.pipeline(transaction=False) as pipe:
            for day, _, key_id in wanted:
                pipe.hgetall(ledger.key_day_key(key_id, day))
            hashes = await pipe.execute()
        for (_, owner, key_id), fields in zip(wanted, hashes, strict=True):
            for name, value in fields.items():
                _model, _, counter = _text(name).rpartition("|")
                if _model:
                    row(key_id, owner).add(counter, _text(value))
        return _sorted(rows)

    if tenant is not None:
        tenants_by_day = [{tenant} for _ in days]
    else:
        async with redis.pipeline(transaction=False) as pipe:
            for day in days:
                pipe.smembers(ledger.tenants_key(day))
            tenants_by_day = [{_text(t) for t in found} for found in await pipe.execute()]
    pairs = [(day, t) for day, ts in zip(days, tenants_by_day, strict=True) for t in sorted(ts)]
    async with redis.pipeline(transaction=False) as pipe:
        for day, t in pairs:
            pipe.hgetall(ledger.tag_key(t, day) if group_by == "tag" else ledger.tenant_key(t, day))
        hashes = await pipe.execute()
    for (day, t), fields in zip(pairs, hashes, strict=True):
        for name, value in fields.items():
            text = _text(name)
            if group_by == "tag":
                tag, _, rest = text.partition("|")
                model, _, counter = rest.rpartition("|")
                if model:
                    row(tag).add(counter, _text(value))
                continue
            model, _, counter = text.rpartition("|")
            if not model:
                continue  # the day's total_usd
            group = {"tenant": t, "model": model, "day": day.isoformat()}[group_by]
            row(group).add(counter, _text(value))
    if group_by == "day":
        return sorted(rows.values(), key=lambda r: r.group, reverse=True)
    return _sorted(rows)


def _sorted(rows: dict[str, UsageRow]) -> list[UsageRow]:
    return sorted(rows.values(), key=lambda r: (-r.cost_usd, r.group))

"""The tag ledger stays bounded whatever tag values callers send: distinct ``k=v`` per
tenant and day are capped, the overflow counted under ``k=other``, totals exact."""

from __future__ import annotations

from decimal import Decimal

import redis.asyncio as aioredis

from agentqueue.core.llm.messages import Usage
from agentqueue.core.llm.usage import UsageLedger, utc_today

USAGE = Usage(input_tokens=3, output_tokens=2)


async def _fields(aredis: aioredis.Redis, ledger: UsageLedger) -> dict[str, str]:
    raw = await aredis.hgetall(ledger.tag_key("t", utc_today()))
    return {_text(k): _text(v) for k, v in raw.items()}


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def _check(aredis: aioredis.Redis, ledger: UsageLedger, calls: int, limit: int) -> None:
    fields = await _fields(aredis, ledger)
    values = {f.split("|")[0] for f in fields}
    # ``env=ci`` and ``limit - 1`` request ids are admitted, the rest are ``req=other``
    assert values == {"env=ci", "req=other"} | {f"req=id-{i}" for i in range(limit - 1)}
    assert len(fields) == 6 * (limit + 1)  # calls, 3 token counters, cost, total
    per_call = sum(int(v) for f, v in fields.items() if f.endswith("|calls") and "req=" in f)
    assert per_call == calls and int(fields["env=ci|m|calls"]) == calls
    assert int(fields["req=other|m|calls"]) == calls - (limit - 1)
    assert int(fields["req=other|m|input_tokens"]) == 3 * (calls - (limit - 1))
    req_usd = sum(Decimal(v) for f, v in fields.items() if f.startswith("req=") and "total" in f)
    assert req_usd == Decimal("0.5") * calls == await ledger.spent("t")
    assert await aredis.scard(ledger.tag_values_key("t", utc_today())) == limit + 1


async def test_distinct_tag_values_beyond_the_cap_count_as_other(aredis: aioredis.Redis) -> None:
    limit, calls = 10, 40
    ledger = UsageLedger(aredis, max_tag_values=limit)
    for i in range(calls):
        tags = {"env": "ci", "req": f"id-{i}"}
        await ledger.record("t", "m", USAGE, Decimal("0.5"), key_id="k1", tags=tags)
    await _check(aredis, ledger, calls, limit)


async def test_the_cap_holds_for_calls_recorded_in_a_transaction(aredis: aioredis.Redis) -> None:
    limit, calls = 10, 40
    ledger = UsageLedger(aredis, max_tag_values=limit)
    for i in range(calls):
        async with aredis.pipeline(transaction=True) as pipe:
            tags = {"env": "ci", "req": f"id-{i}"}
            ledger.record_in(pipe, "t", "m", USAGE, Decimal("0.5"), tags=tags)
            await pipe.execute()
    await _check(aredis, ledger, calls, limit)


async def test_caller_chosen_tag_names_are_bounded_too(aredis: aioredis.Redis) -> None:
    """Past the cap, new names each take an ``other`` bucket until those run out too:
    then ``other=other``, counted once per call."""
    ledger = UsageLedger(aredis, max_tag_values=2, other_tag_keys=3)
    for i in range(20):
        tags = {f"a{i}": "x", f"b{i}": "y"}
        await ledger.record("t", "m", USAGE, Decimal(1), tags=tags)
    fields = await _fields(aredis, ledger)
    values = {f.split("|")[0] for f in fields}
    assert values == {"a0=x", "b0=y", "a1=other", "b1=other", "a2=other", "other=other"}
    total = sum(Decimal(v) for f, v in fields.items() if f.endswith("|total_usd"))
    assert int(fields["other=other|m|calls"]) == 18
    # each call is counted once per tag bucket it lands in: two, but one for other=other
    assert total == 2 + 2 + 1 + 18

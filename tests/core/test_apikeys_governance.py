"""Key records: old ones still load, updates validate, rotation keeps the settings, tags
parse and stay bounded."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
import redis.asyncio as aioredis

from agentqueue.core.apikeys import (
    MAX_TAGS,
    ApiKeyRecord,
    ApiKeys,
    KeyQuota,
    NotRotatable,
    Role,
    key_digest,
    parse_tags,
    usage_tags,
)


async def test_a_record_written_before_governance_still_loads(aredis: aioredis.Redis) -> None:
    key = "aq_old-key-0123456789abcdef"
    digest = key_digest(key)
    old = {"key_id": digest[:12], "tenant": "t", "name": "n", "priorities": [], "created_at": 1.0}
    await aredis.set(f"aq:apikey:{digest}", json.dumps(old))
    await aredis.hset("aq:apikey:index", digest[:12], digest)
    record = await ApiKeys(aredis).lookup(key)
    assert record is not None and record.role is Role.TENANT and record.expires_at is None
    assert record.allowed_models is None and record.quotas.is_empty() and record.tags == {}
    assert not record.expired() and record.allows_model("anything")


async def test_update_validates_and_rotate_keeps_the_settings(aredis: aioredis.Redis) -> None:
    keys = ApiKeys(aredis)
    _, record = await keys.create("t", quotas=KeyQuota(rpm=5), tags={"a": "b"})
    with pytest.raises(ValueError):
        await keys.update(record.key_id, {"tenant": "other"})  # not a governed field
    with pytest.raises(ValueError):
        await keys.update(record.key_id, {"quotas": {"rpm": 0}})
    updated = await keys.update(record.key_id, {"allowed_models": ["m"], "expires_at": 9e9})
    assert updated is not None and updated.allowed_models == ["m"] and updated.quotas.rpm == 5
    rotated = await keys.rotate(record.key_id)
    assert rotated is not None
    new_key, new = rotated
    assert new.rotated_from == record.key_id and new.allowed_models == ["m"]
    assert new.tags == {"a": "b"} and new.quotas.rpm == 5
    assert (await keys.get(record.key_id)).revoked_at is not None  # type: ignore[union-attr]
    with pytest.raises(NotRotatable, match="revoked"):
        await keys.rotate(record.key_id)
    assert await keys.rotate("no-such-key") is None
    assert await keys.update(record.key_id, {"name": "x"}) is None
    assert (await keys.lookup(new_key)) == new


async def test_concurrent_rotations_rotate_once(aredis: aioredis.Redis) -> None:
    """Two rotations of one key at once: one wins, the other is refused, and exactly one
    live key names the old one in ``rotated_from``."""
    keys = ApiKeys(aredis)
    for _ in range(5):
        _, record = await keys.create("t")
        outcomes = await asyncio.gather(
            *(keys.rotate(record.key_id) for _ in range(2)), return_exceptions=True
        )
        won = [o for o in outcomes if isinstance(o, tuple)]
        lost = [o for o in outcomes if isinstance(o, NotRotatable)]
        assert len(won) == 1 and len(lost) == 1, outcomes
        assert lost[0].reason == "revoked"
        successors = [r for r in await keys.list("t") if r.rotated_from == record.key_id]
        assert [r.key_id for r in successors] == [won[0][1].key_id]
        assert successors[0].revoked_at is None


async def test_concurrent_revocations_revoke_once(aredis: aioredis.Redis) -> None:
    keys = ApiKeys(aredis)
    _, record = await keys.create("t")
    assert sorted(await asyncio.gather(*(keys.revoke(record.key_id) for _ in range(3)))) == [
        False,
        False,
        True,
    ]


async def test_an_expired_key_is_not_rotated(aredis: aioredis.Redis) -> None:
    """Rotating would hand out a key already dead: refused, and the old key kept as is."""
    keys = ApiKeys(aredis)
    _, record = await keys.create("t", expires_at=time.time() - 1)
    with pytest.raises(NotRotatable, match="expired") as info:
        await keys.rotate(record.key_id)
    assert info.value.reason == "expired"
    assert [r.key_id for r in await keys.list("t")] == [record.key_id]
    assert (await keys.get(record.key_id)) == record


def test_tags_parse_and_stay_bounded() -> None:
    assert parse_tags("team=search, env = ci") == {"team": "search", "env": "ci"}
    assert parse_tags(None) == {}
    for bad in ("noequals", "a|b=c", "a=b|c", "a:b=c"):
        with pytest.raises(ValueError):
            parse_tags(bad)
    with pytest.raises(ValueError):
        parse_tags(",".join(f"k{i}=v" for i in range(MAX_TAGS + 1)))
    key = ApiKeyRecord(key_id="k", tenant="t", tags={"team": "a"})
    tags = usage_tags(key, {"team": "b", "bad|key": "x", "long": "v" * 500}, {"env": "ci"})
    assert tags == {"team": "b", "env": "ci"}
    many = usage_tags(None, {f"k{i}": "v" for i in range(40)})
    assert len(many) == MAX_TAGS

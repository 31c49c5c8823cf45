"""Keys made with ``agentqueue keys``: they authenticate, bind a tenant, limit priorities,
and stop working when revoked."""

import asyncio
import subprocess
import sys
import time

import pytest
from pydantic import SecretStr

from agentqueue.core.apikeys import ApiKeys, key_digest
from agentqueue.core.base.priority import Priority
from agentqueue.gateway import api
from agentqueue.gateway.settings import GatewaySettings
from tests.gateway_app import gateway_client

HI = {"messages": [{"role": "user", "content": "Say hi"}]}


@pytest.fixture
async def gateway(redis_url: str):
    settings = GatewaySettings(redis_url=SecretStr(redis_url))  # no keys in env
    async with gateway_client(settings) as client:
        yield client


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_created_keys_bind_tenants_and_only_hashes_are_stored(gateway, aredis) -> None:
    keys = ApiKeys(aredis)
    key_a, record = await keys.create("acme", name="ci")
    key_b, _ = await keys.create("globex")
    assert key_a.startswith("aq_") and record.tenant == "acme"
    names = [k for k in await aredis.keys("aq:apikey:*") if "index" not in str(k)]
    stored = [str(await aredis.get(k)) for k in names]
    stored.append(str(await aredis.hgetall("aq:apikey:index")))
    dump = " ".join(stored)
    assert len(names) == 2 and "acme" in dump and "globex" in dump
    assert key_a not in dump and key_b not in dump
    assert (await gateway.post("/v1/tasks", json=HI)).status_code == 401
    mine = await gateway.post("/v1/tasks", json=HI, headers=_auth(key_a))
    assert mine.status_code == 202
    other = await gateway.get(mine.json()["status_url"], headers=_auth(key_b))
    assert other.status_code == 404  # another tenant's task does not exist for globex
    assert (await gateway.get(mine.json()["status_url"], headers=_auth(key_a))).status_code == 200


async def test_revoked_key_is_refused(gateway, aredis, monkeypatch) -> None:
    monkeypatch.setattr(api.deps, "KEY_CACHE_SECONDS", 0.0)
    keys = ApiKeys(aredis)
    key, record = await keys.create("acme")
    assert (await gateway.post("/v1/tasks", json=HI, headers=_auth(key))).status_code == 202
    assert await keys.revoke(record.key_id)
    refused = await gateway.post("/v1/tasks", json=HI, headers=_auth(key))
    assert refused.status_code == 401 and "revoked" in refused.json()["error"]["message"]
    assert not await keys.revoke(record.key_id)


async def test_a_key_limited_to_batch_cannot_submit_high(gateway, aredis) -> None:
    key, _ = await ApiKeys(aredis).create("acme", priorities=[Priority.BATCH])
    ok = await gateway.post("/v1/tasks", json={**HI, "priority": "batch"}, headers=_auth(key))
    assert ok.status_code == 202
    refused = await gateway.post("/v1/tasks", json={**HI, "priority": "high"}, headers=_auth(key))
    assert refused.status_code == 403 and "body.priority" in refused.json()["error"]["message"]


@pytest.mark.slow
def test_cli_creates_lists_and_revokes(redis_url: str) -> None:
    env = {"AGENTQUEUE_REDIS_URL": redis_url, "PATH": "/usr/bin:/bin"}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "agentqueue.cli", "keys", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    created = cli("create", "--tenant", "acme", "--name", "ci", "--priorities", "standard,batch")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert key.startswith("aq_")
    key_id = created.stderr.split("key id ")[1].split()[0]
    listed = cli("list", "--tenant", "acme")
    assert (
        key_id in listed.stderr and "standard,batch" in listed.stderr and key not in listed.stderr
    )
    assert cli("revoke", key_id).returncode == 0
    assert cli("revoke", key_id).returncode == 1
    bad = cli("create", "--tenant", "acme", "--priorities", "urgent")
    assert bad.returncode != 0 and "--priorities" in bad.stderr


async def test_a_revoked_key_is_refused_within_the_cache_bound(
    gateway, aredis, monkeypatch
) -> None:
    """The gateway trusts a looked-up key for ``KEY_CACHE_SECONDS`` (5 s; 0.5 s here):
    revoked, it still works until then, and is refused once the period is over."""
    monkeypatch.setattr(api.deps, "KEY_CACHE_SECONDS", 0.5)
    keys = ApiKeys(aredis)
    key, record = await keys.create("acme")
    assert (await gateway.post("/v1/tasks", json=HI, headers=_auth(key))).status_code == 202
    revoked_at = time.monotonic()
    assert await keys.revoke(record.key_id)
    while (await gateway.post("/v1/tasks", json=HI, headers=_auth(key))).status_code == 202:
        assert time.monotonic() - revoked_at < 0.5, "still accepted after the cache bound"
        await asyncio.sleep(0.05)
    refused = await gateway.post("/v1/tasks", json=HI, headers=_auth(key))
    assert refused.status_code == 401 and "revoked" in refused.json()["error"]["message"]


async def test_the_key_cache_is_bounded_and_forgets_the_oldest(
    gateway, aredis, monkeypatch
) -> None:
    monkeypatch.setattr(api.deps, "KEY_CACHE_SIZE", 3)
    keys = ApiKeys(aredis)
    made = [(await keys.create(f"t{i}"))[0] for i in range(5)]
    for key in made:
        assert (await gateway.post("/v1/tasks", json=HI, headers=_auth(key))).status_code == 202
    assert (await gateway.get("/v1/tasks/task_x", headers=_auth("aq_unknown"))).status_code == 401
    cache = gateway._transport.app.state.key_cache
    assert len(cache) == 3
    assert key_digest("aq_unknown") in cache and key_digest(made[0]) not in cache

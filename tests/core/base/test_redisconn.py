"""Redis clients: retries through a restart, and Sentinel (a master found, then found
again after a failover). Real ``redis-server`` and ``redis-server --sentinel`` processes
on free ports."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from pydantic import SecretStr

from agentqueue.core.base.priority import Priority
from agentqueue.core.base.redisconn import (
    DEFAULT_RETRY_SECONDS,
    async_redis,
    driver_info,
    outage_seconds,
    retry_count,
    sentinels_of,
)
from agentqueue.core.queues.broker import make_broker, task_message
from agentqueue.core.settings import CoreSettings
from tests.core.base.redis_procs import RedisProc


def test_the_default_retry_rides_through_ten_seconds_and_more() -> None:
    assert DEFAULT_RETRY_SECONDS >= 10
    assert outage_seconds(retry_count(DEFAULT_RETRY_SECONDS)) >= DEFAULT_RETRY_SECONDS
    assert outage_seconds(retry_count(1.0)) < 3


async def test_a_pool_filling_up_reads_the_package_version_once(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """redis-py reads its package metadata from disk for each connection it opens unless
    told the driver's name and version; our pools tell it, resolved once per process,
    and connections still announce the real ones (CLIENT SETINFO, from Redis 7.2)."""
    import redis.utils

    reads: list[str] = []
    real: Callable[[], str] = redis.utils.get_lib_version  # type: ignore[assignment]

    def counted() -> str:
        reads.append("read")
        return real()

    monkeypatch.setattr(redis.utils, "get_lib_version", counted)
    driver_info.cache_clear()
    client = async_redis(redis_url, max_connections=8)
    try:
        # eight commands at once, each holding a connection: eight connections opened
        await asyncio.gather(*(client.blpop([f"aq:test:none:{i}"], timeout=0.2) for i in range(8)))
        mine = [c for c in await client.client_list() if c["cmd"] in ("blpop", "client|list")]
        assert len(mine) >= 8
    finally:
        await client.aclose()
    assert len(reads) == 1  # without driver_info: 8
    named = {(c["lib-name"], c["lib-ver"]) for c in mine if "lib-name" in c}  # Redis >= 7.2
    assert named <= {("redis-py", real())}


def test_sentinels_are_read_from_settings() -> None:
    settings = CoreSettings(redis_sentinels="10.0.0.1:26379, sentinel-b:26380")
    assert sentinels_of(settings) == [("10.0.0.1", 26379), ("sentinel-b", 26380)]
    assert sentinels_of(CoreSettings()) == [] and sentinels_of("redis://x:1/0") == []
    with pytest.raises(ValueError):
        sentinels_of(CoreSettings(redis_sentinels="nohost"))


@pytest.fixture
def durable(tmp_path: Path) -> Iterator[RedisProc]:
    server = RedisProc(tmp_path / "r", "--appendonly", "yes", "--appendfsync", "always")
    yield server
    server.kill()


def _restart_after(server: RedisProc, seconds: float) -> threading.Thread:
    def run() -> None:
        time.sleep(seconds)
        server.start()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


async def test_an_async_client_rides_through_a_restart(durable: RedisProc) -> None:
    client = async_redis(durable.url, retry_seconds=10)
    await client.set("k", "v")
    durable.kill()
    restarted = _restart_after(durable, 1.5)
    started = time.monotonic()
    assert await client.get("k") == b"v"  # waited for the server, did not fail
    assert await client.incr("n") == 1
    assert time.monotonic() - started >= 1.0
    restarted.join()
    await client.aclose()


async def test_a_transaction_rides_through_a_restart(durable: RedisProc) -> None:
    """A compare-and-set interrupted while watching is re-read and re-applied."""
    from agentqueue.core.llm.messages import ChatMessage, CompletionRequest
    from agentqueue.core.tasks.model import TaskRecord, TaskSpec
    from agentqueue.core.tasks.store import TaskStore

    client = async_redis(durable.url, retry_seconds=10)
    store = TaskStore(client, ttl=600)
    spec = TaskSpec(input=CompletionRequest(messages=[ChatMessage(role="user", content="x")]))
    record, _ = await store.create(TaskRecord(tenant="t", spec=spec))
    durable.kill()
    restarted = _restart_after(durable, 1.0)
    started = await store.start(record.id)
    assert started is not None and started.attempts == 1
    restarted.join()
    await client.aclose()


def test_the_broker_rides_through_a_restart(durable: RedisProc) -> None:
    broker = make_broker(durable.url)
    durable.kill()
    restarted = _restart_after(durable, 1.0)
    broker.enqueue(task_message("task_1", Priority.STANDARD))
    restarted.join()
    assert durable.client().llen("dramatiq:standard") == 1
    assert durable.client().hget("aq:msg", "task_1") is not None
    broker.close()


def test_without_retries_an_outage_is_an_error_at_once(durable: RedisProc) -> None:
    client = redis.Redis(port=durable.port, socket_connect_timeout=0.2)
    durable.kill()
    with pytest.raises(redis.ConnectionError):
        client.ping()


@pytest.fixture
def sentinel_setup(tmp_path: Path) -> Iterator[tuple[RedisProc, RedisProc, RedisProc]]:
    master = RedisProc(tmp_path / "master")
    replica = RedisProc(tmp_path / "replica")
    replica.client().replicaof("127.0.0.1", master.port)
    sentinel = RedisProc(
        tmp_path / "sentinel",
        sentinel_conf="\n".join(
            [
                f"sentinel monitor agentqueue 127.0.0.1 {master.port} 1",
                "sentinel down-after-milliseconds agentqueue 1000",
                "sentinel failover-timeout agentqueue 5000",
                "sentinel parallel-syncs agentqueue 1",
            ]
        ),
    )
    deadline = time.monotonic() + 15
    while replica.client().info("replication").get("master_link_status") != "up":
        assert time.monotonic() < deadline, "the replica never synced"
        time.sleep(0.1)
    while not sentinel.client().sentinel_slaves("agentqueue"):
        assert time.monotonic() < deadline, "the sentinel never saw the replica"
        time.sleep(0.1)
    try:
        yield master, replica, sentinel
    finally:
        for server in (sentinel, replica, master):
            server.kill()


def _master_port(sentinel: RedisProc) -> int:
    _, port = sentinel.client().sentinel_get_master_addr_by_name("agentqueue")
    return int(port)


@pytest.mark.slow
async def test_sentinel_clients_find_the_master_and_follow_a_failover(
    sentinel_setup: tuple[RedisProc, RedisProc, RedisProc],
) -> None:
    master, replica, sentinel = sentinel_setup
    settings = CoreSettings(
        redis_url=SecretStr("redis://ignored-host:1/0"),
        redis_sentinels=f"127.0.0.1:{sentinel.port}",
        redis_sentinel_master="agentqueue",
    )
    client = async_redis(settings, retry_seconds=20)
    broker = make_broker(settings)
    await client.set("before", "1")
    broker.enqueue(task_message("task_a", Priority.STANDARD))
    assert master.client().get("before") == b"1"
    assert master.client().llen("dramatiq:standard") == 1

    sentinel.client().execute_command("SENTINEL", "FAILOVER", "agentqueue")
    deadline = time.monotonic() + 30
    while _master_port(sentinel) != replica.port:
        assert time.monotonic() < deadline, "no failover"
        await asyncio.sleep(0.1)
    # The old master takes writes until Sentinel demotes it (a window Sentinel has, not
    # us: ``min-replicas-to-write`` narrows it); once demoted, it answers READONLY,
    # which the clients take as "find the master again".
    while master.client().info("replication")["role"] != "slave":
        assert time.monotonic() < deadline, "the old master was never demoted"
        await asyncio.sleep(0.1)

    await client.set("after", "2")  # a write: only the new master takes it
    broker.enqueue(task_message("task_b", Priority.STANDARD))
    assert replica.client().get("after") == b"2"
    assert replica.client().llen("dramatiq:standard") == 2
    assert replica.client().hget("aq:msg", "task_b") is not None
    await client.aclose()
    broker.close()


def test_a_sentinel_master_takes_credentials_db_and_tls_from_the_url() -> None:
    from agentqueue.core.base.redisconn import _master_kwargs

    assert _master_kwargs("rediss://:pw@ignored:1/2") == {"password": "pw", "db": 2, "ssl": True}
    assert _master_kwargs("redis://u:pw@ignored:1/3") == {
        "username": "u",
        "password": "pw",
        "db": 3,
    }


@pytest.mark.slow
async def test_a_command_on_a_connection_to_a_killed_master_reaches_the_new_one(
    sentinel_setup: tuple[RedisProc, RedisProc, RedisProc],
) -> None:
    """The master dies under pooled connections: the command that finds its connection
    dead is retried on the master the Sentinels elect next, not on the dead address
    (redis-py reconnects to the address it had: redis/redis-py#3874)."""
    master, replica, sentinel = sentinel_setup
    settings = CoreSettings(
        redis_url=SecretStr("redis://ignored-host:1/0"),
        redis_sentinels=f"127.0.0.1:{sentinel.port}",
        redis_sentinel_master="agentqueue",
    )
    client = async_redis(settings, retry_seconds=20)
    broker = make_broker(settings)
    await client.set("before", "1")  # both clients hold a connection to the master now
    broker.enqueue(task_message("task_a", Priority.STANDARD))
    deadline = time.monotonic() + 15
    while replica.client().llen("dramatiq:standard") != 1:
        assert time.monotonic() < deadline, "the replica never got the first message"
        await asyncio.sleep(0.05)

    master.kill()
    await client.set("after", "2")  # retried until the Sentinels name the replica
    await asyncio.to_thread(broker.enqueue, task_message("task_b", Priority.STANDARD))

    assert _master_port(sentinel) == replica.port
    assert replica.client().get("after") == b"2"
    assert replica.client().hget("aq:msg", "task_b") is not None
    await client.aclose()
    broker.close()

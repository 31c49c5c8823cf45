"""Redis clients: a bounded blocking pool, retries through a blink, Sentinel when asked.

Every process builds its Redis clients here (and its Dramatiq broker's client through
:func:`sync_redis`, from ``core/queues/broker.py``), from its settings:

- **A bounded, blocking pool.** redis-py's default async pool raises
  ``MaxConnectionsError`` once 100 connections are in use, which under a burst turns into
  500s. A blocking pool makes the next caller wait for a free connection (up to
  ``timeout`` seconds), so a burst queues instead of failing.
- **Retries through a blink.** A connection error or a timeout is retried with
  exponential backoff (50 ms doubling, capped at 1 s) for about ``retry_seconds``
  (default 15 s), on a fresh connection: a Redis restarted by its supervisor (a few
  seconds with AOF) or a Sentinel failover is ridden through instead of failing the
  request, the task or the call being recorded. A command whose reply was lost may
  therefore run twice: the writes that matter are made idempotent where they are
  issued (the acceptance script checks its own record, a task's call carries an id,
  the usage ledger deduplicates by call id, terminal transitions recognise their own
  attempt); a compare-and-set (``core/base/cas.py``) interrupted while watching is
  re-read and re-applied, as redis-py raises ``WatchError`` then.
- **Sentinel.** With ``redis_sentinels`` set (``host:port,host:port``), the master
  named ``redis_sentinel_master`` is found through the Sentinels and found again after
  a failover (a write to a demoted master is a connection error, hence retried).
  Password, username, db and TLS (``rediss://``) come from ``redis_url``, whose host
  and port are then ignored; the Sentinels themselves are asked without a password (over
  TLS too with ``rediss://``). Writes that reach an old master after its replacement and
  before Sentinel demotes it are lost: Sentinel's window (``min-replicas-to-write``).
  redis-py reconnects a dropped connection to the address it had (redis/redis-py#3874,
  open): a command retried through a failover would knock on the dead master until its
  retries ran out. Our connections ask the Sentinels on every reconnect instead
  (:class:`_AsyncMasterConnection`, :class:`_SyncMasterConnection`).

``source`` is a URL or any settings object with ``redis_url`` (a ``SecretStr`` or a
string), and optionally ``redis_sentinels``, ``redis_sentinel_master`` and
``redis_retry_seconds``: this layer cannot import the settings module, which sits above.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Protocol

import redis
import redis.asyncio as aioredis
import redis.asyncio.retry as aioretry
import redis.asyncio.sentinel as aiosentinel
import redis.retry
import redis.sentinel
from redis.asyncio.connection import parse_url
from redis.backoff import ExponentialBackoff
from redis.driver_info import DriverInfo
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

#: Seconds of outage a command rides through before its error reaches the caller.
DEFAULT_RETRY_SECONDS = 15.0
_BACKOFF_BASE = 0.05
_BACKOFF_CAP = 1.0
DEFAULT_SENTINEL_MASTER = "agentqueue"


class RedisSource(Protocol):
    """What a settings object needs for a Redis client (``CoreSettings`` has it)."""

    @property
    def redis_url(self) -> Any: ...


@functools.cache
def driver_info() -> DriverInfo:
    """What every connection announces (``CLIENT SETINFO``), resolved once per process:
    redis-py 8 otherwise reads its own package metadata from disk for each connection it
    opens (0.5 ms of CPU on a quiet machine), and a burst that opens a pool's worth of
    connections at once paid that on the event loop 64 times over."""
    return DriverInfo()


def _url(source: str | RedisSource) -> str:
    if isinstance(source, str):
        return source
    url = source.redis_url
    return str(url.get_secret_value() if hasattr(url, "get_secret_value") else url)


def sentinels_of(source: str | RedisSource) -> list[tuple[str, int]]:
    """The Sentinels a settings object names (``host:port,host:port``); [] for none."""
    if isinstance(source, str):
        return []
    raw = getattr(source, "redis_sentinels", "") or ""
    items = raw if isinstance(raw, list) else str(raw).split(",")
    out = []
    for item in items:
        item = str(item).strip()
        if not item:
            continue
        host, sep, port = item.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ValueError(f"redis_sentinels: {item!r} is not host:port")
        out.append((host.strip("[]"), int(port)))
    return out


def _master(source: str | RedisSource) -> str:
    return str(getattr(source, "redis_sentinel_master", "") or DEFAULT_SENTINEL_MASTER)


def retry_count(seconds: float) -> int:
    """Retries of the backoff (50 ms doubling, capped at 1 s) that sleep ``seconds``."""
    total, n = 0.0, 0
    while total < seconds:
        n += 1
        total += min(_BACKOFF_CAP, _BACKOFF_BASE * 2**n)
    return max(n, 1)


def _retry_seconds(source: str | RedisSource, override: float | None) -> float:
    if override is not None:
        return override
    value = getattr(source, "redis_retry_seconds", None)
    return DEFAULT_RETRY_SECONDS if value is None else float(value)


def async_retry(seconds: float = DEFAULT_RETRY_SECONDS) -> aioretry.Retry:
    return aioretry.Retry(
        ExponentialBackoff(cap=_BACKOFF_CAP, base=_BACKOFF_BASE),
        retry_count(seconds) if seconds > 0 else 0,
        (RedisConnectionError, RedisTimeoutError),
    )


def sync_retry(seconds: float = DEFAULT_RETRY_SECONDS) -> redis.retry.Retry:
    return redis.retry.Retry(
        ExponentialBackoff(cap=_BACKOFF_CAP, base=_BACKOFF_BASE),
        retry_count(seconds) if seconds > 0 else 0,
        (RedisConnectionError, RedisTimeoutError),
    )


def _master_kwargs(url: str) -> dict[str, Any]:
    """Connection options of ``url`` that apply to a Sentinel-found master: credentials,
    db, TLS and query options; not its host and port."""
    kwargs: dict[str, Any] = dict(parse_url(url))
    kwargs.pop("host", None)
    kwargs.pop("port", None)
    connection_class = kwargs.pop("connection_class", None)
    if connection_class is not None and "SSL" in connection_class.__name__:
        kwargs["ssl"] = True
    return kwargs


class _AsyncMasterConnection(aiosentinel.SentinelManagedConnection):
    """A connection to the Sentinel-named master that asks where the master is whenever
    it (re)connects, including the reconnect inside a command's retry."""

    async def _connect_retry(self) -> None:
        if self.is_connected:
            return
        if not self.connection_pool.is_master:
            await super()._connect_retry()  # type: ignore[no-untyped-call]
            return
        await self.connect_check_health(
            check_health=self.connection_pool.check_connection, retry_socket_connect=False
        )

    async def connect_check_health(
        self, check_health: bool = True, retry_socket_connect: bool = True
    ) -> None:
        if not self.is_connected and self.connection_pool.is_master:
            self.host, self.port = await self.connection_pool.get_master_address()
        await super().connect_check_health(check_health, retry_socket_connect)


class _AsyncMasterSSLConnection(_AsyncMasterConnection, aiosentinel.SentinelManagedSSLConnection):
    pass


class _SyncMasterConnection(redis.sentinel.SentinelManagedConnection):
    """:class:`_AsyncMasterConnection` for the synchronous client (Dramatiq's broker)."""

    def _connect_retry(self) -> None:
        if self._sock:
            return
        if not self.connection_pool.is_master:
            super()._connect_retry()  # type: ignore[no-untyped-call]
            return
        self.connect_check_health(
            check_health=self.connection_pool.check_connection, retry_socket_connect=False
        )

    def connect_check_health(
        self, check_health: bool = True, retry_socket_connect: bool = True
    ) -> None:
        if not self._sock and self.connection_pool.is_master:
            self.host, self.port = self.connection_pool.get_master_address()
        super().connect_check_health(check_health, retry_socket_connect)


class _SyncMasterSSLConnection(_SyncMasterConnection, redis.sentinel.SentinelManagedSSLConnection):
    pass


class _BlockingSentinelPool(aiosentinel.SentinelConnectionPool, aioredis.BlockingConnectionPool):
    """A Sentinel-managed pool that waits for a free connection instead of raising."""


def async_redis(
    source: str | RedisSource,
    *,
    max_connections: int = 64,
    timeout: float = 5.0,
    retry_seconds: float | None = None,
) -> aioredis.Redis:
    """An asyncio client of the Redis ``source`` names (see the module docstring)."""
    url = _url(source)
    retry = async_retry(_retry_seconds(source, retry_seconds))
    sentinels = sentinels_of(source)
    if sentinels:
        kwargs = _master_kwargs(url)
        ssl = bool(kwargs.pop("ssl", False))
        sentinel = aiosentinel.Sentinel(  # type: ignore[no-untyped-call]
            sentinels,
            sentinel_kwargs={
                "socket_timeout": 2.0,
                "socket_connect_timeout": 2.0,
                "ssl": ssl,
            },
            **kwargs,
        )
        client: aioredis.Redis = sentinel.master_for(
            _master(source),
            connection_pool_class=_BlockingSentinelPool,
            connection_class=_AsyncMasterSSLConnection if ssl else _AsyncMasterConnection,
            max_connections=max_connections,
            timeout=timeout,
            retry=retry,
            driver_info=driver_info(),
        )
        return client
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=timeout,
        retry=retry,
        driver_info=driver_info(),
    )
    return aioredis.Redis.from_pool(pool)  # the client owns (and closes) its pool


def sync_redis(
    source: str | RedisSource,
    *,
    retry_seconds: float | None = None,
    socket_timeout: float | None = 10.0,
    socket_connect_timeout: float | None = 5.0,
) -> redis.Redis:
    """A synchronous client (Dramatiq's broker), with the same retry and Sentinel rules."""
    url = _url(source)
    retry = sync_retry(_retry_seconds(source, retry_seconds))
    options: dict[str, Any] = {
        "socket_timeout": socket_timeout,
        "socket_connect_timeout": socket_connect_timeout,
        "retry": retry,
        "driver_info": driver_info(),
    }
    sentinels = sentinels_of(source)
    if sentinels:
        kwargs = _master_kwargs(url)
        ssl = bool(kwargs.pop("ssl", False))
        sentinel = redis.sentinel.Sentinel(  # type: ignore[no-untyped-call]
            sentinels,
            sentinel_kwargs={
                "socket_timeout": 2.0,
                "socket_connect_timeout": 2.0,
                "ssl": ssl,
            },
            **kwargs,
        )
        client: redis.Redis = sentinel.master_for(  # type: ignore[no-untyped-call]
            _master(source),
            connection_class=_SyncMasterSSLConnection if ssl else _SyncMasterConnection,
            **options,
        )
        return client
    return redis.Redis(connection_pool=redis.ConnectionPool.from_url(url, **options))


def outage_seconds(retries: int) -> float:
    """How long ``retries`` retries of the backoff sleep in all (for docs and tests)."""
    return math.fsum(min(_BACKOFF_CAP, _BACKOFF_BASE * 2**n) for n in range(1, retries + 1))

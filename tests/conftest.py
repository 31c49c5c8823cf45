"""Shared fixtures: a real Redis and a real provider simulator for every test that needs one.

Redis comes from testcontainers when a Docker engine answers, otherwise from a
``redis-server`` process started here on a free port — never a shared instance on 6379.
Each test gets an empty database. Every test talks plain HTTP to local servers, so the
TLS contexts HTTP clients build are made once per session (see ``_tls_contexts_shared``).
"""

from __future__ import annotations

import os
import shutil
import ssl
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import redis
import redis.asyncio as aioredis

from agentqueue.cli.processes import ProcessGroup, start_redis
from agentqueue.core.calls.fallback import FallbackChain
from agentqueue.core.calls.registry import build_providers
from agentqueue.core.llm.catalog import load_catalog
from agentqueue.core.settings import CoreSettings

if TYPE_CHECKING:
    from agentqueue.simulator.testing import SimulatorHandle


PROVIDER_ENV = (
    "ANTHROPIC_API_KEY",
    "OPENAI_API_KEY",
    "GOOGLE_API_KEY",
    "GEMINI_API_KEY",
    "ANTHROPIC_BASE_URL",
    "OPENAI_BASE_URL",
    "GOOGLE_GEMINI_BASE_URL",
    "AGENTQUEUE_SIMULATOR_URL",
    "AGENTQUEUE_PROVIDER_ORDER",
    "AGENTQUEUE_REDIS_URL",
    "AGENTQUEUE_SIMULATE",
    "AGENTQUEUE_EVENTS_TTL_AFTER_FINISH",
    "AGENTQUEUE_REDIS_SENTINELS",
    "AGENTQUEUE_REDIS_SENTINEL_MASTER",
)


@pytest.fixture(autouse=True, scope="session")
def _no_real_providers() -> Iterator[None]:
    """No test may reach a real provider or a shared Redis because of the developer's env."""
    saved = {k: os.environ.pop(k) for k in PROVIDER_ENV if k in os.environ}
    yield
    os.environ.update(saved)


@pytest.fixture(autouse=True, scope="session")
def _tls_contexts_shared() -> Iterator[None]:
    """One TLS context per session for the HTTP clients that ask for the default trust.

    Each provider SDK client builds TLS contexts when it is created, loading the whole CA
    bundle into each (~30 ms apiece, five per fallback chain, as many per gateway app),
    although no test ever speaks TLS: that was most of the fast tier's time. Only contexts
    asked for with the default trust are shared: ``certifi``'s bundle or the
    ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` the environment names (``httpx``, the SDKs), and
    ``httpcore2``'s default. One asked for otherwise (a CA of its own, kopf's cluster
    login) is built as asked. The HTTP libraries change a context they are given only at
    a TLS handshake (ALPN), which tests never make.
    """
    import certifi

    try:
        import httpcore2
    except ImportError:  # an SDK release without it: nothing to share there
        httpcore2 = None
    cafiles = {certifi.where(), os.environ.get("SSL_CERT_FILE")} - {None}
    capaths = {None, os.environ.get("SSL_CERT_DIR")}
    real_create = ssl.create_default_context
    made: dict[tuple[str | None, str | None], ssl.SSLContext] = {}

    def create_default_context(
        purpose: ssl.Purpose = ssl.Purpose.SERVER_AUTH,
        *,
        cafile: str | None = None,
        capath: str | None = None,
        cadata: str | bytes | None = None,
    ) -> ssl.SSLContext:
        default_trust = cafile in cafiles and capath in capaths and cadata is None
        if purpose is not ssl.Purpose.SERVER_AUTH or not default_trust:
            return real_create(purpose, cafile=cafile, capath=capath, cadata=cadata)
        if (cafile, capath) not in made:
            made[cafile, capath] = real_create(purpose, cafile=cafile, capath=capath)
        return made[cafile, capath]

    ssl.create_default_context = create_default_context  # type: ignore[assignment]
    real_default = getattr(httpcore2, "default_ssl_context", None)
    if real_default is not None:

        def default_ssl_context(*, _trust_env: bool = True) -> ssl.SSLContext:
            key = (f"httpcore2:{_trust_env}", None)  # with SSL_CERT_*: shared above
            if key not in made:
                made[key] = real_default(_trust_env=_trust_env)
            return made[key]

        httpcore2.default_ssl_context = default_ssl_context
    try:
        yield
    finally:
        ssl.create_default_context = real_create
        if real_default is not None:
            httpcore2.default_ssl_context = real_default


def _docker_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=2).ping()
    except Exception:
        return False
    return True


@pytest.fixture(scope="session")
def redis_server_url() -> Iterator[str]:
    """One Redis server for the whole session."""
    if _docker_answers():
        from testcontainers.redis import RedisContainer

        with RedisContainer("redis:7-alpine") as container:
            host = container.get_container_host_ip()
            port = container.get_exposed_port(6379)
            yield f"redis://{host}:{port}/0"
        return
    if shutil.which("redis-server") is None:
        pytest.fail("no Docker engine and no redis-server: install redis-server")
    group = ProcessGroup(log_dir=Path(tempfile.mkdtemp(prefix="aq-test-redis-")))
    try:
        yield start_redis(group)  # a private server on a free port, never the shared one
    finally:
        group.stop()


@pytest.fixture
def redis_url(redis_server_url: str) -> str:
    """The session's Redis, emptied for this test."""
    client = redis.Redis.from_url(redis_server_url)
    client.flushall()
    client.close()
    return redis_server_url


@pytest.fixture
async def aredis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture(scope="session")
def simulator_server() -> Iterator[SimulatorHandle]:
    """One simulator for the session: instant (speed 0), generous limits."""
    from agentqueue.simulator.settings import SimulatorSettings
    from agentqueue.simulator.testing import running_simulator

    with running_simulator(SimulatorSettings(speed=0, seed=1)) as handle:
        yield handle


@pytest.fixture
def simulator(simulator_server: SimulatorHandle) -> SimulatorHandle:
    """The session's simulator with counters, buckets and faults reset for this test."""
    simulator_server.reset()
    simulator_server.configure(
        {
            "all": {
                "outage": False,
                "error_rate": 0.0,
                "overload_rate": 0.0,
                "mid_stream_error_rate": 0.0,
                "speed": 0.0,
            }
        }
    )
    return simulator_server


@pytest.fixture
async def chain(simulator: SimulatorHandle) -> AsyncIterator[FallbackChain]:
    """Anthropic → OpenAI → Google, all on the simulator, through the official SDKs."""
    settings = CoreSettings(simulator_url=simulator.url, breaker_cooldown=60)
    chain = FallbackChain(
        build_providers(settings),
        load_catalog(),
        failure_threshold=2,
        cooldown=settings.breaker_cooldown,
    )
    try:
        yield chain
    finally:
        await chain.aclose()

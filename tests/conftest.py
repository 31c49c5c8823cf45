"""Shared fixtures: a real Redis and a real provider simulator for every test that needs one.

Redis comes from testcontainers when a Docker engine answers, otherwise from a
``redis-server`` process started here on a free port — never a shared instance on 6379.
Each test gets an empty database.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import redis
import redis.asyncio as aioredis

from agentqueue.cli.processes import ProcessGroup, free_port, start_redis
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
)


@pytest.fixture(autouse=True, scope="session")
def _no_real_providers() -> Iterator[None]:
    """No test may reach a real provider or a shared Redis because of the developer's env."""
    saved = {k: os.environ.pop(k) for k in PROVIDER_ENV if k in os.environ}
    yield
    os.environ.update(saved)


#: A free port on 127.0.0.1, for tests that need a closed or a new one.
_free_port = free_port


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

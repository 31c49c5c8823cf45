"""Fixtures of the worker tests: a task store and a task runner on the real Redis and the
simulator (``aredis`` and ``chain`` come from tests/conftest.py).

A module that needs a runner configured otherwise (another backoff) defines its own
``runner`` fixture, which takes precedence over this one. Plain helpers that build tasks
and read the simulator's log are in :mod:`tests.worker.agent_helpers`.
"""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from agentqueue.core.calls.fallback import FallbackChain
from agentqueue.core.tasks.store import TaskStore
from agentqueue.worker.runner import TaskRunner


@pytest.fixture
def store(aredis: aioredis.Redis) -> TaskStore:
    """Task records in the test's (empty) Redis database."""
    return TaskStore(aredis, ttl=600)


@pytest.fixture
def runner(store: TaskStore, chain: FallbackChain) -> TaskRunner:
    """The worker's task runner in-process, on Anthropic → OpenAI → Google (all the
    simulator), with short retry backoffs."""
    return TaskRunner(store, chain, backoff=0.1, backoff_max=0.5)

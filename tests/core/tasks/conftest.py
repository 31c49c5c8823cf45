"""Fixtures of the task tests: a store and a broker on the test's own Redis."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis.asyncio as aioredis

from agentqueue.core.queues.broker import TaskBroker, make_broker
from agentqueue.core.tasks.store import TaskStore


@pytest.fixture
def store(aredis: aioredis.Redis) -> TaskStore:
    return TaskStore(aredis, ttl=600)


@pytest.fixture
def broker(redis_url: str) -> Iterator[TaskBroker]:
    broker = make_broker(redis_url)
    try:
        yield broker
    finally:
        broker.close()

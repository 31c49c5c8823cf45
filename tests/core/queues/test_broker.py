"""The task broker: every enqueue of a task message moves the task's marker to it, in
the same script as Dramatiq's own enqueue; other messages have none."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from dramatiq import Message
from pydantic import SecretStr

from agentqueue.core.base.priority import Priority
from agentqueue.core.queues.broker import (
    MARKER_KEY,
    TaskBroker,
    make_broker,
    task_message,
    webhook_message,
)
from agentqueue.core.settings import CoreSettings


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def broker(redis_url: str) -> Iterator[TaskBroker]:
    broker = make_broker(CoreSettings(redis_url=SecretStr(redis_url)))
    yield broker
    broker.close()


def _marker(client: redis.Redis, task_id: str) -> tuple[str, str]:
    raw = client.hget(MARKER_KEY, task_id)
    assert raw is not None
    queue, _, message_id = raw.decode().partition("|")
    return queue, message_id


def test_an_enqueue_writes_the_message_and_its_marker(
    broker: TaskBroker, client: redis.Redis
) -> None:
    sent = broker.enqueue(task_message("task_1", Priority.HIGH))
    queue, message_id = _marker(client, "task_1")
    assert (queue, message_id) == ("high", sent.options["redis_message_id"])
    assert client.lrange("dramatiq:high", 0, -1) == [message_id.encode()]
    stored = Message.decode(client.hget("dramatiq:high.msgs", message_id))
    assert stored.args == ("task_1",) and stored.message_id == sent.message_id


def test_a_retry_and_its_move_back_to_the_queue_move_the_marker(
    broker: TaskBroker, client: redis.Redis
) -> None:
    first = broker.enqueue(task_message("task_1", Priority.STANDARD))
    delayed = broker.enqueue(first, delay=60_000)  # what Dramatiq's Retries does
    assert _marker(client, "task_1") == ("standard.DQ", delayed.options["redis_message_id"])
    # the worker moves a due message back to its queue with an enqueue of its own
    ready = broker.enqueue(delayed.copy(queue_name="standard"))
    assert _marker(client, "task_1") == ("standard", ready.options["redis_message_id"])


def test_webhook_messages_have_no_marker(broker: TaskBroker, client: redis.Redis) -> None:
    broker.enqueue(webhook_message("task_1", Priority.STANDARD))
    assert client.hlen(MARKER_KEY) == 0
    assert client.llen("dramatiq:standard") == 1


def test_a_consumer_reads_what_the_broker_wrote(broker: TaskBroker) -> None:
    broker.enqueue(task_message("task_1", Priority.BATCH))
    consumer = broker.consume("batch", prefetch=1, timeout=100)
    proxy = next(consumer)
    assert proxy is not None and proxy.args == ("task_1",)
    consumer.ack(proxy)
    consumer.close()

"""Webhook delivery attempts against a real receiver on 127.0.0.1 and a real Redis."""

import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from agentqueue.core.llm.messages import ChatMessage, CompletionRequest
from agentqueue.core.tasks.model import TaskRecord, TaskResult, TaskSpec, WebhookState
from agentqueue.core.tasks.store import TaskStore
from agentqueue.core.tasks.webhook_delivery import DeliveryPolicy, WebhookSender
from agentqueue.core.tasks.webhooks import generate_secret, verify_webhook
from tests.core.tasks.tls_certs import ThrowawayPKI, make_pki
from tests.core.tasks.webhook_receiver import Receiver, running_receiver

SECRET = generate_secret()
LOCAL = DeliveryPolicy(
    max_attempts=4, timeout=1.0, backoff=0.1, backoff_max=1.0, allow_private=True, allow_http=True
)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


@pytest.fixture
def store(aredis: aioredis.Redis) -> TaskStore:
    return TaskStore(aredis, ttl=600)


async def _finished_task(store: TaskStore, url: str) -> str:
    spec = TaskSpec(
        input=CompletionRequest(messages=[ChatMessage(role="user", content="hi")]),
        webhook_url=url,
    )
    record, _ = await store.create(TaskRecord(tenant="t", spec=spec))
    await store.start(record.id)
    await store.succeed(record.id, TaskResult(text="hello", provider="anthropic", model="m"))
    return record.id


async def test_delivered_once_signed_with_the_task_view(
    store: TaskStore, receiver: Receiver
) -> None:
    task_id = await _finished_task(store, receiver.url)
    sender = WebhookSender(store, SECRET, LOCAL)
    assert await sender.deliver(task_id) is None  # delivered: nothing more to do
    [got] = receiver.received
    assert got.path == "/hooks/agentqueue"
    assert got.headers["host"] == receiver.url.split("/")[2]
    view = verify_webhook(SECRET, got.headers, got.body)
    assert view["id"] == task_id and view["status"] == "succeeded"
    assert view["result"]["text"] == "hello" and "webhook" not in view
    assert got.headers["webhook-id"] == f"{task_id}_succeeded"
    record = await store.get(task_id)
    assert record.webhook is not None and record.webhook.state is WebhookState.DELIVERED
    [attempt] = record.webhook.attempts
    assert attempt.status_code == 200 and attempt.error is None and attempt.duration_s < 1
    # A duplicate message (a redelivery) sends nothing more.
    assert await sender.deliver(task_id) is None and len(receiver.received) == 1


async def test_a_failing_receiver_is_retried_with_growing_delays_then_delivered(
    store: TaskStore, receiver: Receiver
) -> None:
    receiver.answer(500, 503, 200)
    task_id = await _finished_task(store, receiver.url)
    sender = WebhookSender(store, SECRET, LOCAL)
    delays = []
    while (delay := await sender.deliver(task_id)) is not None:
        delays.append(delay)
    assert len(delays) == 2 and 0.05 <= delays[0] <= 0.1 and 0.1 <= delays[1] <= 0.2
    record = await store.get(task_id)
    assert record.webhook is not None and record.webhook.state is WebhookState.DELIVERED
    assert [a.status_code for a in record.webhook.attempts] == [500, 503, 200]
    ids = {r.headers["webhook-id"] for r in receiver.received}
    assert ids == {f"{task_id}_succeeded"}  # the same message id on every attempt
    assert len({r.body for r in receiver.received}) == 1  # and the same body
    for r in receiver.received:
        verify_webhook(SECRET, r.headers, r.body)


async def test_gives_up_after_max_attempts(store: TaskStore, receiver: Receiver) -> None:
    receiver.answer(500, 500, 500, 500, 500)
    task_id = await _finished_task(store, receiver.url)
    sender = WebhookSender(store, SECRET, LOCAL)
    runs = 0
    while await sender.deliver(task_id) is not None:
        runs += 1
    record = await store.get(task_id)
    assert record.webhook is not None and record.webhook.state is WebhookState.FAILED
    assert len(record.webhook.attempts) == 4 == len(receiver.received) == runs + 1


@pytest.mark.parametrize(("status", "retried"), [(400, False), (410, False), (408, True)])
async def test_client_errors_give_up_except_timeout_and_rate_limit(
    store: TaskStore, receiver: Receiver, status: int, retried: bool
) -> None:
    receiver.answer(status)
    task_id = await _finished_task(store, receiver.url)
    delay = await WebhookSender(store, SECRET, LOCAL).deliver(task_id)
    assert (delay is not None) is retried
    record = await store.get(task_id)
    assert record.webhook is not None
    assert record.webhook.state is (WebhookState.PENDING if retried else WebhookState.FAILED)


async def test_429_waits_at_least_the_receivers_retry_after(
    store: TaskStore, receiver: Receiver
) -> None:
    receiver.answer((429, {"retry-after": "3"}, 0.0))
    task_id = await _finished_task(store, receiver.url)
    policy = DeliveryPolicy(
        max_attempts=3, timeout=1, backoff=0.1, backoff_max=60, allow_private=True,
        allow_http=True,
    )  # fmt: skip
    assert await WebhookSender(store, SECRET, policy).deliver(task_id) == 3.0


@pytest.mark.slow
async def test_a_slow_receiver_times_out_and_is_retried(
    store: TaskStore, receiver: Receiver
) -> None:
    receiver.answer((200, {}, 1.5))
    task_id = await _finished_task(store, receiver.url)
    started = time.monotonic()
    delay = await WebhookSender(store, SECRET, LOCAL).deliver(task_id)
    assert delay is not None and time.monotonic() - started < 1.4
    record = await store.get(task_id)
    assert record.webhook is not None
    [attempt] = record.webhook.attempts
    assert attempt.status_code is None and "timed out after 1s" in (attempt.error or "")


async def test_private_receivers_are_refused_at_delivery_by_default(
    store: TaskStore, receiver: Receiver
) -> None:
    task_id = await _finished_task(store, receiver.url)
    strict = DeliveryPolicy(max_attempts=4, allow_http=True)  # private addresses not allowed
    assert await WebhookSender(store, SECRET, strict).deliver(task_id) is None
    record = await store.get(task_id)
    assert record.webhook is not None and record.webhook.state is WebhookState.FAILED
    assert "loopback" in (record.webhook.attempts[0].error or "")
    assert receiver.received == []  # nothing reached the receiver


async def test_nothing_is_sent_unsigned(store: TaskStore, receiver: Receiver) -> None:
    task_id = await _finished_task(store, receiver.url)
    assert await WebhookSender(store, None, LOCAL).deliver(task_id) is None
    record = await store.get(task_id)
    assert record.webhook is not None and record.webhook.state is WebhookState.FAILED
    assert "AGENTQUEUE_WEBHOOK_SECRET" in (record.webhook.attempts[0].error or "")
    assert receiver.received == []


async def test_an_unfinished_task_is_not_delivered(store: TaskStore, receiver: Receiver) -> None:
    spec = TaskSpec(
        input=CompletionRequest(messages=[ChatMessage(role="user", content="hi")]),
        webhook_url=receiver.url,
    )
    record, _ = await store.create(TaskRecord(tenant="t", spec=spec))
    assert await WebhookSender(store, SECRET, LOCAL).deliver(record.id) is None
    assert receiver.received == []


HTTPS_ONLY = DeliveryPolicy(
    max_attempts=1, timeout=2.0, backoff=0.1, backoff_max=1.0, allow_private=True, allow_http=False
)


@pytest.fixture
def pki(tmp_path: Path) -> ThrowawayPKI:
    return make_pki(tmp_path)


@pytest.fixture
def https_receiver(pki: ThrowawayPKI) -> Iterator[Receiver]:
    """A receiver serving HTTPS with a certificate of :func:`pki`'s own CA."""
    with running_receiver(tls=pki.server) as r:
        yield r


async def test_an_https_receiver_whose_certificate_is_not_trusted_gets_nothing(
    store: TaskStore, https_receiver: Receiver
) -> None:
    task_id = await _finished_task(store, https_receiver.url)
    assert await WebhookSender(store, SECRET, HTTPS_ONLY).deliver(task_id) is None
    assert https_receiver.received == []
    record = await store.get(task_id)
    assert record.webhook is not None and record.webhook.state is WebhookState.FAILED
    [attempt] = record.webhook.attempts
    assert attempt.error is not None and "CERTIFICATE_VERIFY_FAILED" in attempt.error


async def test_an_https_receiver_with_a_trusted_certificate_gets_the_signed_view(
    store: TaskStore, pki: ThrowawayPKI, https_receiver: Receiver
) -> None:
    task_id = await _finished_task(store, https_receiver.url)
    sender = WebhookSender(store, SECRET, HTTPS_ONLY)
    sender.tls = pki.client()  # as if the CA were among the trusted ones
    assert await sender.deliver(task_id) is None
    [got] = https_receiver.received
    assert verify_webhook(SECRET, got.headers, got.body)["id"] == task_id


async def test_attempts_build_no_tls_context_of_their_own(
    store: TaskStore, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Building one parses the whole CA bundle (tens of ms of CPU): once per process."""
    sender = WebhookSender(store, SECRET, LOCAL)
    built: list[object] = []
    original = ssl.create_default_context

    def counted(*args: object, **kwargs: object) -> ssl.SSLContext:
        built.append(args)
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ssl, "create_default_context", counted)
    receiver.answer(500, 503, 200)
    task_id = await _finished_task(store, receiver.url)
    while await sender.deliver(task_id) is not None:
        pass
    assert len(receiver.received) == 3
    assert built == []

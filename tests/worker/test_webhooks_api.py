"""Webhook URLs at submission: refused inside our network unless configured; the view."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
import redis
from pydantic import SecretStr

from agentqueue.core.queues.broker import WEBHOOK_ACTOR
from agentqueue.gateway.settings import GatewaySettings
from tests.gateway_app import gateway_client

KEY = "webhook-test-key-0123456789"
HI = {"messages": [{"role": "user", "content": "Say hi"}]}


async def _client(settings: GatewaySettings) -> AsyncIterator[httpx.AsyncClient]:
    async with gateway_client(settings, KEY) as client:
        yield client


@pytest.fixture
async def strict(redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway with the default webhook settings."""
    settings = GatewaySettings(redis_url=SecretStr(redis_url), api_keys=SecretStr(f"t:{KEY}"))
    async for client in _client(settings):
        yield client


@pytest.fixture
async def lenient(redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway configured for receivers on the local network."""
    settings = GatewaySettings(
        redis_url=SecretStr(redis_url),
        api_keys=SecretStr(f"t:{KEY}"),
        webhook_allow_private=True,
        webhook_allow_http=True,
    )
    async for client in _client(settings):
        yield client


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://127.0.0.1/hook", "loopback"),
        ("https://10.0.0.1/hook", "private"),
        ("https://10.20.30.40:8443/hook", "private"),
        ("https://169.254.169.254/latest/meta-data/", "link-local"),
        ("https://localhost/hook", "loopback"),
        ("https://[::1]/hook", "loopback"),
    ],
)
async def test_private_webhook_urls_are_refused_by_default(
    strict: httpx.AsyncClient, url: str, reason: str, redis_url: str
) -> None:
    r = await strict.post("/v1/tasks", json={**HI, "webhook_url": url})
    assert r.status_code == 422, r.text
    [field] = r.json()["error"]["fields"]
    assert field["field"] == "body.webhook_url" and reason in field["message"]
    client = redis.Redis.from_url(redis_url)
    try:
        assert client.hlen("dramatiq:standard.msgs") == 0  # nothing was queued
    finally:
        client.close()


@pytest.mark.parametrize(
    "url", ["http://93.184.215.14/hook", "ftp://example.com/x", "not a url", "https://"]
)
async def test_malformed_or_plain_http_urls_are_refused(
    strict: httpx.AsyncClient, url: str
) -> None:
    r = await strict.post("/v1/tasks", json={**HI, "webhook_url": url})
    assert r.status_code == 422
    assert r.json()["error"]["fields"][0]["field"] == "body.webhook_url"


async def test_a_public_https_url_is_accepted_and_shown_pending(
    strict: httpx.AsyncClient,
) -> None:
    url = "https://93.184.215.14/hooks/agentqueue"
    r = await strict.post("/v1/tasks", json={**HI, "webhook_url": url})
    assert r.status_code == 202, r.text
    view = (await strict.get(r.json()["status_url"])).json()
    assert view["webhook"] == {"url": url, "state": "pending", "attempts": []}


async def test_configuration_allows_local_receivers(lenient: httpx.AsyncClient) -> None:
    r = await lenient.post("/v1/tasks", json={**HI, "webhook_url": "http://127.0.0.1:9/hook"})
    assert r.status_code == 202, r.text


async def test_tasks_without_a_webhook_show_none(strict: httpx.AsyncClient) -> None:
    r = await strict.post("/v1/tasks", json=HI)
    assert (await strict.get(r.json()["status_url"])).json()["webhook"] is None


async def test_cancelling_queues_the_webhook_on_the_tasks_own_queue(
    lenient: httpx.AsyncClient, redis_url: str
) -> None:
    r = await lenient.post(
        "/v1/tasks",
        json={**HI, "priority": "batch", "webhook_url": "http://127.0.0.1:9/hook"},
    )
    task_id = r.json()["id"]
    assert (await lenient.delete(f"/v1/tasks/{task_id}")).status_code == 202
    client = redis.Redis.from_url(redis_url)
    try:
        messages = [json.loads(m) for m in client.hvals("dramatiq:batch.msgs")]
    finally:
        client.close()
    actors = sorted((m["actor_name"], tuple(m["args"])) for m in messages)
    assert actors == [(WEBHOOK_ACTOR, (task_id,)), ("run_task", (task_id,))]

"""``GET /v1/tasks/{id}/events``: the task's progress as SSE, from a real runner.

The runner runs in-process (real Redis, the simulator as provider, the official SDKs).
Streams that end are read through the ASGI transport; streams read while they are live
(keep-alives, disconnects, the stream limit) go through a real uvicorn server.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI

from agentqueue.core.calls.fallback import FallbackChain
from agentqueue.core.tasks.store import TaskStore
from agentqueue.gateway.app import create_app
from agentqueue.gateway.settings import GatewaySettings
from agentqueue.worker.runner import RetryLater, TaskRunner
from tests.gateway.conftest import KEY_T1, KEY_T2
from tests.servers import serving

HI = {"messages": [{"role": "user", "content": "Say hi"}]}
AUTH = {"Authorization": f"Bearer {KEY_T1}"}


def parse_sse(text: str) -> list[dict[str, Any]]:
    """Events as dicts (``id``, ``event``, ``data``), and comments as ``{"comment": ...}``."""
    import json

    out = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        item: dict[str, Any] = {}
        for line in block.split("\n"):
            name, _, value = line.partition(": ")
            if name == "":
                item["comment"] = value
            elif name == "data":
                item["data"] = json.loads(value)
            else:
                item[name] = value
        out.append(item)
    return out


@pytest.fixture
def runner(aredis: aioredis.Redis, chain: FallbackChain) -> TaskRunner:
    return TaskRunner(TaskStore(aredis, ttl=600), chain, backoff=0.1, backoff_max=0.2)


async def _submit(client: httpx.AsyncClient) -> str:
    r = await client.post("/v1/tasks", json=HI)
    assert r.status_code == 202, r.text
    task_id: str = r.json()["id"]
    return task_id


async def _events(client: httpx.AsyncClient, task_id: str, **headers: str) -> list[dict]:
    r = await client.get(f"/v1/tasks/{task_id}/events", headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/event-stream")
    return parse_sse(r.text)


async def test_a_successful_task_streams_its_events_in_order_then_ends(
    client: httpx.AsyncClient, runner: TaskRunner
) -> None:
    task_id = await _submit(client)
    await runner.run(task_id, retries_done=0, retries_left=3)
    events = await _events(client, task_id)
    assert [e["event"] for e in events] == ["queued", "started", "llm_call", "succeeded"]
    ids = [tuple(map(int, e["id"].split("-"))) for e in events]
    assert ids == sorted(ids) and len(set(ids)) == 4
    queued, started, call, done = (e["data"] for e in events)
    assert queued["priority"] == "standard" and started["attempt"] == 1
    assert call["provider"] == "anthropic" and call["usage"]["output_tokens"] > 0
    assert call["cost_usd"] > 0 and call["latency_s"] >= 0 and call["failed_attempts"] == []
    assert call["cached"] is None and "step" in call
    assert done["result"]["text"] and done["cost_usd"] == pytest.approx(call["cost_usd"])


async def test_fallbacks_and_retries_are_events(
    client: httpx.AsyncClient, runner: TaskRunner, simulator
) -> None:
    task_id = await _submit(client)
    simulator.configure({"all": {"outage": True}})
    with pytest.raises(RetryLater):
        await runner.run(task_id, retries_done=0, retries_left=3)
    simulator.configure({"all": {"outage": False}, "anthropic": {"outage": True}})
    await runner.run(task_id, retries_done=1, retries_left=2)
    events = await _events(client, task_id)
    assert [e["event"] for e in events] == [
        "queued",
        "started",
        "fallback",  # anthropic → openai
        "fallback",  # openai → google
        "retry",
        "started",
        "fallback",  # anthropic → openai, which answers
        "llm_call",
        "succeeded",
    ]
    first = events[2]["data"]
    assert (first["from_provider"], first["to_provider"]) == ("anthropic", "openai")
    assert first["reason"] and events[3]["data"]["to_provider"] == "google"
    retry = events[4]["data"]
    assert retry["delay_s"] > 0 and retry["error"]["type"] == "NoProviderAvailable"
    assert events[5]["data"]["attempt"] == 2
    call = events[7]["data"]
    assert call["provider"] == "openai"
    assert [a["provider"] for a in call["failed_attempts"]] == ["anthropic"]


async def test_last_event_id_resumes_after_that_event(
    client: httpx.AsyncClient, runner: TaskRunner
) -> None:
    task_id = await _submit(client)
    await runner.run(task_id, retries_done=0, retries_left=3)
    everything = await _events(client, task_id)
    rest = await _events(client, task_id, **{"Last-Event-ID": everything[1]["id"]})
    assert rest == everything[2:]


async def test_malformed_last_event_id_is_400(client: httpx.AsyncClient) -> None:
    task_id = await _submit(client)
    r = await client.get(f"/v1/tasks/{task_id}/events", headers={"Last-Event-ID": "x\ny"})
    assert r.status_code == 400 and "Last-Event-ID" in r.json()["error"]["message"]


async def test_another_tenants_task_events_are_404(client: httpx.AsyncClient) -> None:
    task_id = await _submit(client)
    r = await client.get(
        f"/v1/tasks/{task_id}/events", headers={"Authorization": f"Bearer {KEY_T2}"}
    )
    assert r.status_code == 404
    assert (await client.get("/v1/tasks/task_nope/events")).status_code == 404


async def test_a_finished_task_without_a_terminal_event_ends_with_the_records(
    client: httpx.AsyncClient, aredis: aioredis.Redis
) -> None:
    task_id = await _submit(client)
    store = TaskStore(aredis)
    await store.start(task_id)
    from agentqueue.core.tasks.model import TaskError

    await store.fail(task_id, TaskError(type="Boom", message="lost in transit"))
    key = f"aq:task:{task_id}:events"  # the log lost its end (trimmed, or expired early)
    last = await aredis.xrevrange(key, count=1)
    await aredis.xdel(key, last[0][0])
    events = await _events(client, task_id)
    assert [e["event"] for e in events] == ["queued", "failed"]
    assert "id" not in events[-1] and events[-1]["data"]["error"]["type"] == "Boom"


async def test_cancelling_ends_the_stream_with_cancelled(client: httpx.AsyncClient) -> None:
    task_id = await _submit(client)
    assert (await client.delete(f"/v1/tasks/{task_id}")).status_code == 202
    events = await _events(client, task_id)
    assert [e["event"] for e in events] == ["queued", "cancelled"]


# -- live streams through a real server ------------------------------------------------


@pytest.fixture
def live_app(gateway_settings: GatewaySettings) -> FastAPI:
    return create_app(
        gateway_settings.model_copy(update={"events_keepalive": 0.3, "events_max_streams": 2})
    )


@pytest.fixture
async def live(live_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    with serving(live_app) as url:
        async with httpx.AsyncClient(base_url=url, headers=AUTH, timeout=10) as client:
            yield client


async def _blocks(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    buffer = ""
    async for chunk in response.aiter_text():
        buffer += chunk
        while "\n\n" in buffer:
            block, buffer = buffer.split("\n\n", 1)
            for item in parse_sse(block + "\n\n"):
                yield item


async def test_live_stream_sends_keepalives_then_events_as_they_happen(
    live: httpx.AsyncClient, runner: TaskRunner
) -> None:
    task_id = await _submit(live)
    seen: list[dict[str, Any]] = []
    async with live.stream("GET", f"/v1/tasks/{task_id}/events") as response:
        assert response.status_code == 200
        started = time.monotonic()
        async for item in _blocks(response):
            seen.append(item)
            comments = [s for s in seen if "comment" in s]
            if len(comments) == 2 and len(seen) == 3:
                run = asyncio.create_task(runner.run(task_id, retries_done=0, retries_left=3))
        await run
    elapsed = time.monotonic() - started
    kinds = [s.get("event", "keep-alive") for s in seen]
    assert kinds == ["queued", "keep-alive", "keep-alive", "started", "llm_call", "succeeded"]
    assert 0.5 < elapsed < 10  # two keep-alive periods of 0.3 s passed before the run


async def test_disconnecting_client_stops_the_stream(
    live: httpx.AsyncClient, live_app: FastAPI
) -> None:
    task_id = await _submit(live)
    async with live.stream("GET", f"/v1/tasks/{task_id}/events") as response:
        async for item in _blocks(response):
            assert item["event"] == "queued"
            assert live_app.state.task_event_streams.open == 1
            break
    deadline = time.monotonic() + 5
    while live_app.state.task_event_streams.open:
        assert time.monotonic() < deadline, "the stream still runs after the client left"
        await asyncio.sleep(0.05)


async def test_streams_past_the_limit_get_503(live: httpx.AsyncClient) -> None:
    task_id = await _submit(live)
    async with (
        live.stream("GET", f"/v1/tasks/{task_id}/events") as one,
        live.stream("GET", f"/v1/tasks/{task_id}/events") as two,
    ):
        # Keep the iterators: a dropped one is finalised, which closes its connection.
        readers = [one.aiter_text(), two.aiter_text()]
        for reader in readers:
            assert "queued" in await reader.__anext__()
        third = await asyncio.wait_for(live.get(f"/v1/tasks/{task_id}/events"), 10)
        assert third.status_code == 503 and third.headers["retry-after"] == "5"
        assert "too many open event streams" in third.json()["error"]["message"]

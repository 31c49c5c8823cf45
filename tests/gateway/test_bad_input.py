"""Bad input is a 4xx naming the field, never a 500; every status is in the OpenAPI."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from agentqueue.gateway.app import create_app
from agentqueue.gateway.settings import GatewaySettings
from tests.gateway.conftest import KEY_T1
from tests.servers import serving

HI = [{"role": "user", "content": "Say hi"}]


def _field(r: httpx.Response) -> str:
    return str(r.json()["error"]["message"])


@pytest.mark.parametrize(
    ("messages", "param"),
    [
        ([{"role": "user", "content": ""}], "messages[0].content"),
        ([{"role": "user", "content": []}], "messages[0].content"),
        ([{"role": "user", "content": [{"type": "text", "text": ""}]}], "messages[0].content"),
        ([*HI, {"role": "assistant", "content": ""}, *HI], "messages[1].content"),
        (
            [{"role": "system", "content": "x"}, {"role": "user", "content": ""}],
            "messages[1].content",
        ),
    ],
)
async def test_openai_empty_content_is_400_naming_the_message(
    client: httpx.AsyncClient, messages: list[dict[str, Any]], param: str
) -> None:
    """As OpenAI answers: 400, ``invalid_request_error``, the field in ``param``."""
    r = await client.post("/v1/chat/completions", json={"model": "gpt-4.1", "messages": messages})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"] == param
    assert r.json()["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    ("messages", "field"),
    [
        ([{"role": "user", "content": ""}], "body.messages.0.content"),
        ([{"role": "user", "content": []}], "body.messages.0.content"),
        (
            [{"role": "user", "content": [{"type": "text", "text": ""}]}],
            "body.messages.0.content.0.text",
        ),
        ([*HI, {"role": "assistant", "content": ""}, *HI], "body.messages.1.content"),
        (
            [*HI, {"role": "assistant", "content": [{"type": "text", "text": ""}]}],
            "body.messages.1.content.0.text",
        ),
    ],
)
async def test_anthropic_empty_content_is_400_naming_the_message(
    client: httpx.AsyncClient, messages: list[dict[str, Any]], field: str
) -> None:
    body = {"model": "gpt-4.1", "max_tokens": 10, "messages": messages}
    r = await client.post("/v1/messages", json=body)
    assert r.status_code == 400, r.text
    assert field in _field(r)


async def test_anthropic_empty_system_block_is_400(client: httpx.AsyncClient) -> None:
    body = {
        "model": "gpt-4.1",
        "max_tokens": 10,
        "messages": HI,
        "system": [{"type": "text", "text": ""}],
    }
    r = await client.post("/v1/messages", json=body)
    assert r.status_code == 400 and "body.system.0.text" in _field(r)


@pytest.mark.parametrize("stream", [0, 1, "true", "false", None])
async def test_stream_must_be_a_boolean(client: httpx.AsyncClient, stream: Any) -> None:
    openai = {"model": "gpt-4.1", "messages": HI, "stream": stream}
    r = await client.post("/v1/chat/completions", json=openai)
    assert r.status_code == 400 and r.json()["error"]["param"] == "stream", r.text
    r = await client.post(
        "/v1/chat/completions",
        json={"model": "gpt-4.1", "messages": HI, "stream_options": {"include_usage": 1}},
    )
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"] == "stream_options.include_usage"
    anthropic = {"model": "gpt-4.1", "max_tokens": 10, "messages": HI, "stream": stream}
    r = await client.post("/v1/messages", json=anthropic)
    assert r.status_code == 400, r.text  # as Anthropic answers
    assert r.json()["type"] == "error" and "stream" in _field(r)


async def test_task_api_booleans_are_strict(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/tasks", json={"messages": HI, "cache": {"no_cache": 0}})
    assert r.status_code == 422 and "body.cache.no_cache" in _field(r)
    r = await client.post("/v1/tasks", json={"messages": HI, "cache": {"no_cache": True}})
    assert r.status_code == 202, r.text
    session = (await client.post("/v1/sessions", json={})).json()["id"]
    r = await client.post(
        f"/v1/sessions/{session}/turns",
        json={"turns": [{"role": "user", "content": "x", "pinned": "yes"}]},
    )
    assert r.status_code == 422 and "pinned" in _field(r)


async def test_an_out_of_range_last_event_id_is_400(client: httpx.AsyncClient) -> None:
    task = (await client.post("/v1/tasks", json={"messages": HI})).json()["id"]
    for bad in ("99999999999999999999-0", "0-18446744073709551616"):
        r = await client.get(f"/v1/tasks/{task}/events", headers={"Last-Event-ID": bad})
        assert r.status_code == 400 and "Last-Event-ID" in _field(r)


async def test_a_huge_transcript_start_is_422_naming_start(client: httpx.AsyncClient) -> None:
    session = (await client.post("/v1/sessions", json={})).json()["id"]
    r = await client.get(
        f"/v1/sessions/{session}/transcript", params={"start": "9223372036854775808"}
    )
    assert r.status_code == 422 and "query.start" in _field(r)
    r = await client.get(f"/v1/sessions/{session}/transcript", params={"start": 2**32})
    assert r.status_code == 200 and r.json() == []


async def test_event_stream_slots_are_taken_at_admission(
    gateway_settings: GatewaySettings,
) -> None:
    """30 concurrent streams on a limit of 4: exactly 4 streams, 26 refusals with
    retry-after — none admitted and then broken. The 30 requests are written on 30 open
    connections at once, so that they are all admitted before any body starts."""
    app = create_app(
        gateway_settings.model_copy(update={"events_max_streams": 4, "events_keepalive": 0.2})
    )
    headers = {"Authorization": f"Bearer {KEY_T1}"}
    with serving(app) as url:
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=10) as client:
            task = (await client.post("/v1/tasks", json={"messages": HI})).json()["id"]
        host, port = url.removeprefix("http://").split(":")
        conns = [await asyncio.open_connection(host, int(port)) for _ in range(30)]
        request = (
            f"GET /v1/tasks/{task}/events HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: Bearer {KEY_T1}\r\n\r\n"
        ).encode()
        for _, writer in conns:
            writer.write(request)
        await asyncio.gather(*(writer.drain() for _, writer in conns))

        async def status_of(reader: asyncio.StreamReader) -> tuple[int, str]:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            status = int(head.split()[1])
            if status == 200:  # the stream really runs: its first event arrives
                first = await asyncio.wait_for(reader.readuntil(b"\n\n"), 10)
                return status, first.decode()
            return status, head.decode().lower()

        answers = await asyncio.gather(*(status_of(reader) for reader, _ in conns))
        statuses = sorted(s for s, _ in answers)
        assert statuses == [200] * 4 + [503] * 26, statuses
        for status, text in answers:
            if status == 200:
                assert "queued" in text
            else:
                assert "retry-after: 5" in text
        assert app.state.task_event_streams.open == 4
        for _, writer in conns:
            writer.close()
        deadline = asyncio.get_running_loop().time() + 5
        while app.state.task_event_streams.open:
            assert asyncio.get_running_loop().time() < deadline, "slots not given back"
            await asyncio.sleep(0.05)


async def test_openapi_documents_every_error_status(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    expected = {
        ("post", "/v1/tasks"): {"401", "403", "409", "413", "422", "429", "503"},
        ("get", "/v1/tasks/{task_id}"): {"401", "404", "503"},
        ("delete", "/v1/tasks/{task_id}"): {"401", "404", "409", "503"},
        ("get", "/v1/tasks/{task_id}/events"): {"400", "401", "404", "503"},
        ("post", "/v1/sessions/{session_id}/steps"): {"401", "403", "404", "409", "429", "503"},
        ("get", "/v1/sessions/{session_id}/transcript"): {"401", "404", "422", "503"},
        ("post", "/v1/chat/completions"): {"400", "401", "404", "413", "429", "503"},
        # Anthropic's statuses: an unavailable backend is 529 overloaded_error
        ("post", "/v1/messages"): {"400", "401", "403", "404", "413", "429", "500", "529"},
        ("post", "/v1/messages/count_tokens"): {"400", "401", "404"},
        ("get", "/v1/models"): {"401"},
        ("post", "/v1/embeddings"): {"400", "401", "404", "429"},
        ("get", "/v1/usage"): {"401", "422", "503"},
        ("get", "/readyz"): {"503"},
    }
    for (method, path), codes in expected.items():
        responses = spec["paths"][path][method]["responses"]
        assert codes <= set(responses), (method, path, sorted(responses))
        for code in codes:
            assert "application/json" in responses[code]["content"], (method, path, code)
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            if path.startswith("/v1/"):
                assert "401" in op["responses"], (method, path)


async def test_a_tenant_out_of_requests_per_minute_is_told_rpm(
    gateway_settings: GatewaySettings, simulator: Any
) -> None:
    from tests.gateway_app import gateway_client

    settings = gateway_settings.model_copy(
        update={"simulator_url": simulator.url, "tenant_quotas": {"t1": {"rpm": 1}}}
    )
    async with gateway_client(settings, KEY_T1) as client:
        body = {"model": "gpt-4.1", "messages": HI, "max_tokens": 20}
        assert (await client.post("/v1/chat/completions", json=body)).status_code == 200
        r = await client.post("/v1/chat/completions", json=body)
        assert r.status_code == 429, r.text
        error = r.json()["error"]
        assert error["quota"] == "rpm" and "requests per minute" in error["message"]

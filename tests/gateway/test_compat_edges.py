"""Refusals made before any compatible route runs — an oversized body (413), an unknown
path (404), a wrong method (405) — and malformed JSON, through the official SDKs: each in
the caller's API's envelope, never a 500 or FastAPI's ``{"detail": ...}``; the gateway's
own routes keep theirs."""

from collections.abc import AsyncIterator, Iterator
from typing import Any

import anthropic
import httpx
import openai
import pytest

from agentqueue.gateway.app import create_app
from agentqueue.gateway.bodylimit import BodySizeLimit
from agentqueue.gateway.compat.edges import CompatErrorEnvelopes
from agentqueue.gateway.settings import GatewaySettings
from agentqueue.gateway.tracing import RequestTracing
from tests.gateway.conftest import KEY_T1
from tests.servers import serving

ASK = [{"role": "user", "content": "Hi"}]
BIG = "x" * (70 * 1024)  # over the 64 KiB limit of ``gateway_settings``


def test_create_app_wires_the_compat_envelopes(gateway_settings: GatewaySettings) -> None:
    app = create_app(gateway_settings)
    layers = [getattr(m, "cls", None) for m in app.user_middleware]  # outermost first
    # it must wrap BodySizeLimit, added before it; only the request id's layer wraps it
    assert layers.index(CompatErrorEnvelopes) < layers.index(BodySizeLimit)
    assert layers[0] is RequestTracing


@pytest.fixture
def edge_url(gateway_settings: GatewaySettings) -> Iterator[str]:
    with serving(create_app(gateway_settings), name="gateway") as url:
        yield url


@pytest.fixture
async def oai_edge(edge_url: str) -> AsyncIterator[openai.AsyncOpenAI]:
    client = openai.AsyncOpenAI(base_url=f"{edge_url}/v1", api_key=KEY_T1, max_retries=0)
    yield client
    await client.close()


@pytest.fixture
async def claude_edge(edge_url: str) -> AsyncIterator[anthropic.AsyncAnthropic]:
    client = anthropic.AsyncAnthropic(base_url=edge_url, api_key=KEY_T1, max_retries=0)
    yield client
    await client.close()


def _openai_error(exc: openai.APIStatusError) -> dict[str, Any]:
    body = exc.response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) >= {"message", "type", "param", "code"}
    error: dict[str, Any] = body["error"]
    return error


def _anthropic_error(exc: anthropic.APIStatusError) -> dict[str, Any]:
    body = exc.response.json()
    assert body["type"] == "error" and set(body) == {"type", "error"}
    error: dict[str, Any] = body["error"]
    return error


@pytest.mark.parametrize("stream", [False, True])
async def test_an_oversized_body_is_413_in_openais_envelope(
    oai_edge: openai.AsyncOpenAI, stream: bool
) -> None:
    with pytest.raises(openai.APIStatusError) as info:
        await oai_edge.chat.completions.create(
            model="gpt-4.1", messages=[{"role": "user", "content": BIG}], stream=stream
        )
    assert info.value.status_code == 413
    error = _openai_error(info.value)
    assert error["type"] == "invalid_request_error" and error["code"] == "request_too_large"
    assert "exceeds the limit" in error["message"]
    with pytest.raises(openai.APIStatusError) as embed:
        await oai_edge.embeddings.create(model="text-embedding-3-small", input=BIG)
    assert embed.value.status_code == 413 and _openai_error(embed.value)["code"]
    with pytest.raises(openai.APIStatusError) as responses:
        await oai_edge.responses.create(model="gpt-4.1", input=BIG)
    assert responses.value.status_code == 413 and _openai_error(responses.value)["code"]


@pytest.mark.parametrize("stream", [False, True])
async def test_an_oversized_body_is_413_request_too_large_for_anthropic(
    claude_edge: anthropic.AsyncAnthropic, stream: bool
) -> None:
    with pytest.raises(anthropic.APIStatusError) as info:
        await claude_edge.messages.create(
            model="claude-sonnet-4-6",
            max_tokens=10,
            messages=[{"role": "user", "content": BIG}],
            stream=stream,
        )
    assert info.value.status_code == 413
    error = _anthropic_error(info.value)
    assert error["type"] == "request_too_large" and "exceeds the limit" in error["message"]
    with pytest.raises(anthropic.APIStatusError) as count:
        await claude_edge.messages.count_tokens(
            model="claude-sonnet-4-6", messages=[{"role": "user", "content": BIG}]
        )
    assert _anthropic_error(count.value)["type"] == "request_too_large"


async def test_an_unknown_openai_path_is_404_in_openais_envelope(
    oai_edge: openai.AsyncOpenAI,
) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        await oai_edge.completions.create(model="gpt-4.1", prompt="Hi")  # legacy: not served
    error = _openai_error(info.value)
    assert error["message"] == "Invalid URL (POST /v1/completions)"
    assert error["type"] == "invalid_request_error" and error["param"] is None
    with pytest.raises(openai.NotFoundError) as stores:
        await oai_edge.vector_stores.list()  # not served (/v1/files + /v1/batches are)
    assert _openai_error(stores.value)["message"] == "Invalid URL (GET /v1/vector_stores)"


async def test_an_unknown_anthropic_path_is_not_found_error(
    claude_edge: anthropic.AsyncAnthropic,
) -> None:
    with pytest.raises(anthropic.NotFoundError) as info:
        await claude_edge.beta.skills.list()  # not served
    error = _anthropic_error(info.value)
    assert error["type"] == "not_found_error" and "/v1/skills" in error["message"]
    with pytest.raises(anthropic.NotFoundError) as models:
        await claude_edge.beta.vaults.list()  # told apart by anthropic-version
    assert _anthropic_error(models.value)["type"] == "not_found_error"


async def test_a_wrong_method_on_a_compat_path_is_405_in_its_envelope(edge_url: str) -> None:
    async with httpx.AsyncClient(base_url=edge_url) as http:
        openai_405 = await http.get("/v1/chat/completions")
        anthropic_405 = await http.get("/v1/messages", headers={"x-api-key": KEY_T1})
    assert openai_405.status_code == 405
    assert openai_405.json()["error"]["code"] == "method_not_allowed"
    assert anthropic_405.status_code == 405
    assert anthropic_405.json()["error"]["type"] == "invalid_request_error"
    assert "allow" in {k.lower() for k in openai_405.headers}


async def test_malformed_json_is_400_naming_the_problem(edge_url: str) -> None:
    bad = b'{"model": "gpt-4.1", "messages": [}'
    auth = {"authorization": f"Bearer {KEY_T1}", "content-type": "application/json"}
    async with httpx.AsyncClient(base_url=edge_url, headers=auth) as http:
        for path in ("/v1/chat/completions", "/v1/responses", "/v1/embeddings"):
            r = await http.post(path, content=bad)
            assert r.status_code == 400, (path, r.text)
            error = r.json()["error"]
            assert error["type"] == "invalid_request_error" and error["param"] is None
            assert "could not parse the JSON body" in error["message"]
            assert "Expecting value at character 34" in error["message"]  # what, where
        for path in ("/v1/messages", "/v1/messages/count_tokens"):
            r = await http.post(path, content=bad, headers={"anthropic-version": "2023-06-01"})
            assert r.status_code == 400, (path, r.text)
            assert r.json()["type"] == "error"
            error = r.json()["error"]
            assert error["type"] == "invalid_request_error"
            assert "invalid JSON (Expecting value at character 34)" in error["message"]


async def test_the_gateways_own_routes_keep_their_envelope(edge_url: str) -> None:
    auth = {"authorization": f"Bearer {KEY_T1}"}
    async with httpx.AsyncClient(base_url=edge_url, headers=auth) as http:
        big = await http.post("/v1/tasks", content=b"{" + b" " * 70 * 1024 + b"}")
        missing = await http.get("/v1/tasks/no-such-task/nothing-here")
        task = await http.get("/v1/tasks/no-such-task")
    assert big.status_code == 413
    assert big.json() == {
        "error": {"type": "request_too_large", "message": big.json()["error"]["message"]}
    }
    assert task.status_code == 404 and task.json()["error"]["type"] == "not_found"
    assert missing.status_code == 404 and "param" not in missing.json()["error"]
    for r in (big, missing, task):
        assert "detail" not in r.json()

"""Streams passed through as the provider's bytes (``gateway/compat/passthrough.py``).

Each test runs the official SDKs against two gateways on the same simulator and Redis:
one passing same-protocol streams through (the default) and one translating every stream
(``stream_passthrough=False``), so that the pass-through answer is compared with the
translated one, and the path taken is read from the ``x-agentqueue-stream`` header.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anthropic
import httpx
import openai
import pytest
import redis.asyncio as aioredis
from prometheus_client import REGISTRY

from agentqueue.gateway.app import create_app
from tests.gateway.conftest import KEY_T1, served_settings
from tests.servers import serving

HI = [{"role": "user", "content": "Tell me about streams passed through"}]
BUDGETS = {
    "openai:gpt-4.1": {"rpm": 10_000, "tpm": 10_000_000},
    "anthropic:claude-sonnet-4-6": {"rpm": 10_000, "tpm": 10_000_000},
}
WEATHER = {
    "name": "get_weather",
    "description": "The weather in a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


@pytest.fixture
def urls(redis_url: str, simulator: Any) -> Iterator[dict[str, str]]:
    """``passthrough`` and ``translated`` gateways, the simulator behind both."""
    on = served_settings(redis_url, simulator.url, budgets=BUDGETS)
    off = served_settings(redis_url, simulator.url, budgets=BUDGETS, stream_passthrough=False)
    with serving(create_app(on), name="gw-on") as a, serving(create_app(off), name="gw-off") as b:
        yield {"passthrough": a, "translated": b}


@pytest.fixture
async def oais(urls: dict[str, str]) -> AsyncIterator[dict[str, openai.AsyncOpenAI]]:
    clients = {
        path: openai.AsyncOpenAI(base_url=f"{url}/v1", api_key=KEY_T1, max_retries=0)
        for path, url in urls.items()
    }
    yield clients
    for c in clients.values():
        await c.close()


@pytest.fixture
async def claudes(urls: dict[str, str]) -> AsyncIterator[dict[str, anthropic.AsyncAnthropic]]:
    clients = {
        path: anthropic.AsyncAnthropic(base_url=url, api_key=KEY_T1, max_retries=0)
        for path, url in urls.items()
    }
    yield clients
    for c in clients.values():
        await c.close()


async def _openai_stream(client: openai.AsyncOpenAI, **ask: Any) -> tuple[str, Any, list[Any]]:
    """(text, the x-agentqueue-stream header, every chunk) of one streamed call."""
    ask = {"model": "gpt-4.1", "messages": HI, "max_tokens": 40, **ask}
    async with client.chat.completions.with_streaming_response.create(stream=True, **ask) as raw:
        path = raw.headers.get("x-agentqueue-stream")
        chunks = [chunk async for chunk in await raw.parse()]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    return text, path, chunks


async def _leases(redis_url: str) -> int:
    client = aioredis.Redis.from_url(redis_url)
    try:
        return int(await client.zcard("aq:rl:leases"))
    finally:
        await client.aclose()


async def _usage(url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=url, headers={"x-api-key": KEY_T1}) as http:
        today: dict[str, Any] = (await http.get("/v1/usage")).json()["days"][0]
    return {m["model"]: m for m in today["models"]}


async def test_an_openai_stream_passes_through_with_the_translated_content(
    oais: dict[str, openai.AsyncOpenAI], urls: dict[str, str], redis_url: str
) -> None:
    text, path, chunks = await _openai_stream(oais["passthrough"])
    same, other, translated = await _openai_stream(oais["translated"])
    assert path == "passthrough" and other == "translated"
    assert text and text == same
    finish = chunks[-1].choices[0].finish_reason
    assert finish == translated[-1].choices[0].finish_reason == "length"
    assert all(c.usage is None for c in chunks)  # the forced usage chunk is cut out
    asked, _, with_usage = await _openai_stream(
        oais["passthrough"], stream_options={"include_usage": True}
    )
    assert asked == text
    assert with_usage[-1].choices == [] and with_usage[-1].usage.completion_tokens > 0
    usage = (await _usage(urls["passthrough"]))["gpt-4.1"]
    assert usage["calls"] == 3 and usage["output_tokens"] > 0 and usage["cost_usd"] > 0
    assert await _leases(redis_url) == 0  # every lease settled


async def test_an_anthropic_stream_passes_through_with_the_translated_content(
    claudes: dict[str, anthropic.AsyncAnthropic], urls: dict[str, str], redis_url: str
) -> None:
    answers = {}
    for client in claudes.values():
        async with client.messages.stream(
            model="claude-sonnet-4-6", max_tokens=40, messages=HI
        ) as stream:
            header = stream.response.headers["x-agentqueue-stream"]
            final = await stream.get_final_message()
        answers[header] = final
    assert set(answers) == {"passthrough", "translated"}
    through, translated = answers["passthrough"], answers["translated"]
    assert through.content[0].text == translated.content[0].text != ""  # type: ignore[union-attr]
    assert through.stop_reason == translated.stop_reason == "max_tokens"
    assert through.usage.output_tokens == translated.usage.output_tokens > 0
    usage = (await _usage(urls["passthrough"]))["claude-sonnet-4-6"]
    assert usage["calls"] == 2 and usage["input_tokens"] > 0
    assert await _leases(redis_url) == 0


async def test_a_passed_through_stream_fills_the_cache(
    oais: dict[str, openai.AsyncOpenAI],
) -> None:
    first, path, _ = await _openai_stream(oais["passthrough"], temperature=0)
    again, hit, _ = await _openai_stream(oais["passthrough"], temperature=0)
    assert path == "passthrough" and hit == "cache"
    assert again == first


async def test_a_stream_with_fields_outside_the_cache_key_is_never_cached(
    oais: dict[str, openai.AsyncOpenAI],
) -> None:
    """``reasoning_effort`` is not part of the cache key: a high-effort call must neither
    be served a plain cached answer nor store its own under the plain key."""
    _, plain, _ = await _openai_stream(oais["passthrough"], temperature=0, max_tokens=41)
    _, effort, _ = await _openai_stream(
        oais["passthrough"], temperature=0, max_tokens=41, reasoning_effort="high"
    )
    assert plain == "passthrough" and effort == "passthrough"  # not "cache"


async def test_a_provider_failing_before_the_first_byte_falls_back(
    oais: dict[str, openai.AsyncOpenAI], simulator: Any, redis_url: str
) -> None:
    simulator.configure({"openai": {"outage": True}})
    text, path, chunks = await _openai_stream(oais["passthrough"])
    assert path == "translated" and text  # Claude answered, in OpenAI's protocol
    assert chunks[-1].model == "claude-sonnet-4-6"
    assert simulator.stats()["providers"]["openai"]["ok"] == 0
    assert await _leases(redis_url) == 0


async def test_a_mid_stream_error_ends_the_passed_through_stream(
    oais: dict[str, openai.AsyncOpenAI],
    claudes: dict[str, anthropic.AsyncAnthropic],
    simulator: Any,
    redis_url: str,
) -> None:
    simulator.configure({"all": {"mid_stream_error_rate": 1.0}})
    with pytest.raises(openai.APIError, match="mid-stream"):
        await _openai_stream(oais["passthrough"])
    with pytest.raises(anthropic.APIStatusError):
        async with claudes["passthrough"].messages.stream(
            model="claude-sonnet-4-6", max_tokens=40, messages=HI
        ) as stream:
            await stream.get_final_message()
    assert await _leases(redis_url) == 0


def _passed_through() -> float:
    """Streams the gateways in this process have passed through (the counter)."""
    return (
        REGISTRY.get_sample_value("agentqueue_gateway_streams_total", {"path": "passthrough"}) or 0
    )


async def test_tool_calls_pass_through_and_the_sdks_reassemble_them(
    oais: dict[str, openai.AsyncOpenAI], claudes: dict[str, anthropic.AsyncAnthropic]
) -> None:
    before = _passed_through()
    async with oais["passthrough"].chat.completions.stream(
        model="gpt-4.1",
        messages=[{"role": "user", "content": "What is the weather in Paris?"}],
        tools=[{"type": "function", "function": WEATHER}],
        tool_choice="required",
        max_tokens=200,
    ) as stream:
        completion = await stream.get_final_completion()
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    call = choice.message.tool_calls[0]  # type: ignore[index]
    assert call.function.name == "get_weather"  # type: ignore[union-attr]
    assert "city" in json.loads(call.function.arguments)  # type: ignore[union-attr]

    tool = {"name": "get_weather", "description": "", "input_schema": WEATHER["parameters"]}
    async with claudes["passthrough"].messages.stream(
        model="claude-sonnet-4-6",
        max_tokens=200,
        messages=[{"role": "user", "content": "What is the weather in Paris?"}],
        tools=[tool],  # type: ignore[list-item]
        tool_choice={"type": "any"},
    ) as stream:
        assert stream.response.headers["x-agentqueue-stream"] == "passthrough"
        message = await stream.get_final_message()
    assert message.stop_reason == "tool_use"
    assert _passed_through() == before + 2
    use = next(b for b in message.content if b.type == "tool_use")
    assert use.name == "get_weather" and "city" in use.input  # type: ignore[union-attr,operator]


async def test_logprobs_and_reasoning_effort_reach_an_openai_provider_on_a_stream(
    redis_url: str, simulator: Any
) -> None:
    """Sent on the pass-through path (seen leaving the gateway for the simulator); a
    whole answer, or a model of another provider, cannot give logprobs: 400 naming it."""
    sent: list[dict[str, Any]] = []
    app = create_app(served_settings(redis_url, simulator.url))
    with serving(app, name="gw") as url:
        adapter = next(p for p in app.state.chain.providers if p.name == "openai")
        http = adapter._client._client  # the SDK's own HTTP client

        async def record(request: Any) -> None:
            if request.url.path.endswith("/chat/completions"):
                sent.append(json.loads(request.content))

        http.event_hooks["request"].append(record)
        client = openai.AsyncOpenAI(base_url=f"{url}/v1", api_key=KEY_T1, max_retries=0)
        try:
            text, path, _ = await _openai_stream(
                client, logprobs=True, top_logprobs=2, reasoning_effort="low"
            )
            assert path == "passthrough" and text
            with pytest.raises(openai.BadRequestError) as whole:
                await client.chat.completions.create(
                    model="gpt-4.1", messages=HI, max_tokens=5, logprobs=True
                )
            with pytest.raises(openai.BadRequestError) as claude:
                await _openai_stream(client, model="claude-sonnet-4-6", logprobs=True)
        finally:
            await client.close()
    assert sent[0]["logprobs"] is True and sent[0]["top_logprobs"] == 2
    assert sent[0]["reasoning_effort"] == "low"
    assert sent[0]["stream_options"] == {"include_usage": True}
    assert whole.value.param == "logprobs" and claude.value.param == "logprobs"

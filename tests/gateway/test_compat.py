"""The official OpenAI and Anthropic SDKs, pointed at the gateway, work unmodified."""

import anthropic
import openai
import pytest

from tests.gateway.conftest import KEY_T1, KEY_T2

HI = [{"role": "user", "content": "Say hi"}]


async def test_openai_sdk_plain_call(oai) -> None:
    raw = await oai.chat.completions.with_raw_response.create(
        model="claude-sonnet-4-6", messages=HI, max_tokens=50
    )
    reply = raw.parse()
    assert reply.choices[0].message.content.startswith("Simulated claude-sonnet-4-6")
    assert reply.usage.prompt_tokens > 0 and reply.usage.completion_tokens > 0
    assert raw.headers["x-agentqueue-provider"] == "anthropic"
    assert float(raw.headers["x-agentqueue-cost-usd"]) > 0


async def test_openai_sdk_stream_with_usage(oai) -> None:
    stream = await oai.chat.completions.create(
        model="efficient",
        messages=[{"role": "system", "content": "Be brief."}, *HI],
        stream=True,
        stream_options={"include_usage": True},
    )
    pieces, usage, finish = [], None, None
    async for chunk in stream:
        if chunk.choices:
            pieces.append(chunk.choices[0].delta.content or "")
            finish = chunk.choices[0].finish_reason or finish
        if chunk.usage:
            usage = chunk.usage
    assert "".join(pieces).startswith("Simulated ")
    assert finish == "stop"
    assert usage is not None and usage.completion_tokens > 0


async def test_anthropic_sdk_plain_and_streamed(claude) -> None:
    message = await claude.messages.create(model="gpt-4.1", max_tokens=50, messages=HI)
    assert message.content[0].text.startswith("Simulated gpt-4.1")
    assert message.usage.output_tokens > 0 and message.stop_reason == "end_turn"
    async with claude.messages.stream(
        model="claude-sonnet-4-6", max_tokens=50, messages=HI, system="Be brief."
    ) as stream:
        text = "".join([t async for t in stream.text_stream])
        final = await stream.get_final_message()
    assert text.startswith("Simulated claude-sonnet-4-6")
    assert final.usage.output_tokens > 0


async def test_a_stream_fails_over_before_its_first_token(oai, simulator) -> None:
    simulator.configure({"anthropic": {"outage": True}})
    stream = await oai.chat.completions.create(model="claude-sonnet-4-6", messages=HI, stream=True)
    models, text = set(), []
    async for chunk in stream:
        models.add(chunk.model)
        if chunk.choices:
            text.append(chunk.choices[0].delta.content or "")
    assert "".join(text).startswith("Simulated gpt-")  # OpenAI answered, seamlessly
    stats = simulator.stats()["providers"]
    assert stats["anthropic"]["requests"] >= 1 and stats["openai"]["requests"] == 1


async def test_a_failure_after_the_first_token_ends_the_stream_with_an_error(
    oai, claude, simulator
) -> None:
    simulator.configure({"all": {"mid_stream_error_rate": 1.0}})
    stream = await oai.chat.completions.create(model="gpt-4.1", messages=HI, stream=True)
    received = []
    with pytest.raises(openai.APIError):
        async for chunk in stream:
            if chunk.choices:
                received.append(chunk.choices[0].delta.content or "")
    assert "".join(received)  # some text came first; no second model was spliced in
    with pytest.raises(anthropic.APIError):
        async with claude.messages.stream(
            model="claude-sonnet-4-6", max_tokens=50, messages=HI
        ) as s:
            async for _ in s.text_stream:
                pass
    simulator.configure({"all": {"mid_stream_error_rate": 0.0}})


async def test_errors_are_what_the_sdks_expect(gateway_url, oai) -> None:
    bad = openai.AsyncOpenAI(base_url=f"{gateway_url}/v1", api_key="wrong-key-0123456789")
    with pytest.raises(openai.AuthenticationError):
        await bad.chat.completions.create(model="gpt-4.1", messages=HI)
    await bad.close()
    with pytest.raises(openai.NotFoundError) as missing:
        await oai.chat.completions.create(model="no-such-model", messages=HI)
    assert missing.value.param == "model" and missing.value.code == "model_not_found"
    with pytest.raises(openai.BadRequestError) as info:
        await oai.chat.completions.create(model="gpt-4.1", messages=HI, n=2)
    assert info.value.param == "n" and "must be 1" in info.value.message


async def test_tenant_over_its_quota_gets_429_with_our_retry_after(gateway_url) -> None:
    client = openai.AsyncOpenAI(base_url=f"{gateway_url}/v1", api_key=KEY_T2, max_retries=0)
    try:
        with pytest.raises(openai.RateLimitError) as info:
            for _ in range(10):
                await client.chat.completions.create(model="gpt-4.1", messages=HI, max_tokens=200)
        assert info.value.response.json()["error"]["code"] == "rate_limit_exceeded"
        assert int(info.value.response.headers["retry-after"]) >= 1
    finally:
        await client.close()


async def test_usage_reports_calls_tokens_and_cost_per_model_today(oai, gateway_url) -> None:
    import httpx

    for model in ("claude-sonnet-4-6", "claude-sonnet-4-6", "gpt-4.1"):
        await oai.chat.completions.create(model=model, messages=HI, max_tokens=50)
    async with httpx.AsyncClient(base_url=gateway_url) as http:
        mine = (await http.get("/v1/usage", headers={"x-api-key": KEY_T1})).json()
        theirs = (await http.get("/v1/usage?days=3", headers={"x-api-key": KEY_T2})).json()
        bad = await http.get("/v1/usage?days=0", headers={"x-api-key": KEY_T1})
    today = mine["days"][0]
    assert mine["tenant"] == "t1" and len(mine["days"]) == 7
    calls = {m["model"]: m["calls"] for m in today["models"]}
    assert calls == {"claude-sonnet-4-6": 2, "gpt-4.1": 1}
    assert all(m["output_tokens"] > 0 and m["cost_usd"] > 0 for m in today["models"])
    assert today["cost_usd"] == pytest.approx(sum(m["cost_usd"] for m in today["models"]))
    assert theirs["tenant"] == "t2" and theirs["cost_usd"] == 0  # tenants never see others'
    assert bad.status_code == 422 and "days" in bad.text


async def test_a_repeated_deterministic_call_is_served_from_the_cache(oai, simulator) -> None:
    ask = {"model": "gpt-4.1", "messages": HI, "max_tokens": 50, "temperature": 0}
    first = await oai.chat.completions.with_raw_response.create(**ask)
    again = await oai.chat.completions.with_raw_response.create(**ask)
    assert "x-agentqueue-cache" not in first.headers
    assert again.headers["x-agentqueue-cache"] == "exact"
    assert float(again.headers["x-agentqueue-cost-usd"]) == 0
    assert again.parse().choices[0].message.content == first.parse().choices[0].message.content
    assert simulator.stats()["providers"]["openai"]["requests"] == 1
    warmer = await oai.chat.completions.with_raw_response.create(**{**ask, "temperature": 0.7})
    assert "x-agentqueue-cache" not in warmer.headers  # not deterministic: never cached


async def test_a_repeated_deterministic_stream_is_served_from_the_cache(oai, simulator) -> None:
    ask = {"model": "claude-sonnet-4-6", "max_tokens": 50, "messages": HI, "temperature": 0}
    texts = []
    for _ in range(2):
        stream = await oai.chat.completions.create(**ask, stream=True)
        texts.append("".join([c.choices[0].delta.content or "" async for c in stream if c.choices]))
    assert texts[0] and texts[0] == texts[1]
    assert simulator.stats()["providers"]["anthropic"]["requests"] == 1


async def test_a_prompt_too_long_for_the_model_is_400_not_503(oai) -> None:
    huge = [{"role": "user", "content": "word " * 200_000}]
    with pytest.raises(openai.BadRequestError) as info:
        await oai.chat.completions.create(model="gpt-4.1", messages=huge, max_tokens=10)
    assert info.value.response.json()["error"]["code"] == "context_length_exceeded"
    with pytest.raises(openai.BadRequestError):
        await oai.chat.completions.create(model="gpt-4.1", messages=huge, stream=True)


async def test_empty_content_is_a_bad_request_to_the_sdks(oai, claude) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        await oai.chat.completions.create(
            model="gpt-4.1", messages=[{"role": "user", "content": ""}]
        )
    assert info.value.param == "messages[0].content"
    with pytest.raises(anthropic.BadRequestError) as refused:
        await claude.messages.create(
            model="gpt-4.1", max_tokens=10, messages=[{"role": "user", "content": []}]
        )
    assert "body.messages.0.content" in str(refused.value)
    # an empty final assistant turn is accepted, as Anthropic does (a prefill of nothing)
    message = await claude.messages.create(
        model="gpt-4.1",
        max_tokens=10,
        messages=[*HI, {"role": "assistant", "content": ""}],
    )
    assert message.content[0].text

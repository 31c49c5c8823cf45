"""Vectors in Redis, searched in-process: incremental refresh, trimming, expiry, search."""

from __future__ import annotations

import numpy as np
import redis.asyncio as aioredis

from agentqueue.core.cache.embedder import unit
from agentqueue.core.cache.index import ScopeIndex, VectorStore, pack

RNG = np.random.default_rng(7)


def _vectors(n: int, dim: int = 384) -> np.ndarray:
    v = RNG.standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _digest(i: int) -> str:
    return f"{i:064x}"


def test_search_finds_the_nearest_above_the_threshold_best_first() -> None:
    vectors = _vectors(200)
    index = ScopeIndex()
    index.extend([pack(v, _digest(i), 2e9) for i, v in enumerate(vectors)])
    query = unit(vectors[42] + 0.05 * vectors[7])
    matches = index.search(query, 0.9, 4, now=0)
    assert [m.digest for m in matches] == [_digest(42)]
    assert matches[0].similarity > 0.99
    assert index.search(query, 0.999, 4, now=0) == []
    loose = index.search(query, -1.0, 3, now=0)
    assert [m.digest for m in loose][:1] == [_digest(42)] and len(loose) == 3
    assert loose[0].similarity >= loose[1].similarity >= loose[2].similarity


def test_expired_vectors_are_never_found() -> None:
    v = _vectors(1)[0]
    index = ScopeIndex()
    index.extend([pack(v, _digest(1), expires_at=100.0)])
    assert index.search(v, 0.5, 1, now=99.0) != []
    assert index.search(v, 0.5, 1, now=100.0) == []


def test_the_index_keeps_at_most_its_cap_newest_first_kept() -> None:
    vectors = _vectors(10)
    index = ScopeIndex(cap=4)
    for i, v in enumerate(vectors):
        index.extend([pack(v, _digest(i), 2e9)])
    assert index.size == 4 and index.digests == [_digest(i) for i in range(6, 10)]
    assert index.search(vectors[9], 0.99, 1, now=0)[0].digest == _digest(9)
    assert index.search(vectors[0], 0.99, 1, now=0) == []


async def test_a_process_sees_vectors_another_added(aredis: aioredis.Redis) -> None:
    writer, reader = VectorStore(aredis, "test"), VectorStore(aredis, "test")
    vectors = _vectors(30)
    for i, v in enumerate(vectors[:20]):
        await writer.add("scope", v, _digest(i), ttl=60)
    assert (await reader.index("scope")).size == 20
    for i, v in enumerate(vectors[20:], start=20):
        await writer.add("scope", v, _digest(i), ttl=60)
    index = await reader.index("scope")  # only the 10 new records are read
    assert index.size == 30 and index.seen == 30
    assert (await reader.search("scope", vectors[25], 0.99, 1))[0].digest == _digest(25)
    assert await reader.search("other-scope", vectors[25], 0.5, 1) == []


async def test_a_full_scope_drops_its_oldest_and_laggards_reload(aredis: aioredis.Redis) -> None:
    writer = VectorStore(aredis, "test", max_entries=100)
    reader = VectorStore(aredis, "test", max_entries=100)
    vectors = _vectors(250)
    for i, v in enumerate(vectors[:50]):
        await writer.add("scope", v, _digest(i), ttl=60)
    assert (await reader.index("scope")).size == 50
    for i, v in enumerate(vectors[50:], start=50):
        await writer.add("scope", v, _digest(i), ttl=60)
    assert await aredis.llen("aq:cache:s:test:scope") == 100
    index = await reader.index("scope")  # fell behind the trim: reloaded whole
    assert index.size == 100 and index.digests[0] == _digest(150)
    assert await reader.search("scope", vectors[10], 0.99, 1) == []


async def test_a_scope_lives_as_long_as_its_longest_entry(aredis: aioredis.Redis) -> None:
    store = VectorStore(aredis, "test")
    v = _vectors(2)
    await store.add("scope", v[0], _digest(0), ttl=500)
    await store.add("scope", v[1], _digest(1), ttl=20)
    assert 490 < await aredis.ttl("aq:cache:s:test:scope") <= 500
    assert 490 < await aredis.ttl("aq:cache:s:test:scope:n") <= 500

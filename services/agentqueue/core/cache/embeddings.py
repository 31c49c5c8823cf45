"""The embedding cache: one Redis string per (tenant, provider, model, dimensions, text).

An embedding is a function of its input: the same text, model and size give the same
vector, whatever else the call held. So vectors are cached one input at a time, not one
call at a time: a batch that repeats a text, or a later call that shares some texts with
an earlier one, reuses what is known and asks the provider only for the rest.

A vector is stored as float32 bytes (little-endian, what OpenAI's base64 encoding holds)
behind an 8-byte tag of its scope: 6 KB for 1,536 dimensions rather than ~30 KB of JSON.
The tag repeats, hashed, the tenant, provider, model and size the key was made from and is
checked on read, as the exact cache checks its entries, so that even a key computed
wrongly could not serve another tenant's vector. Keys use the exact cache's prefix,
version and tenant scoping (:mod:`agentqueue.core.cache.keys`).

Redis being down makes every lookup a miss and every store a no-op (logged).
"""

from __future__ import annotations

import hashlib
import logging
import sys
from array import array
from collections.abc import Sequence

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from agentqueue.core.cache.keys import KEY_VERSION, PREFIX, tenant_scope

log = logging.getLogger(__name__)

_TAG_BYTES = 8


def _scope(tenant: str | None, provider: str, model: str, dimensions: int | None) -> bytes:
    """Everything but the text that decides a vector, as one byte string."""
    parts = (f"v{KEY_VERSION}", tenant_scope(tenant), provider, model, str(dimensions or 0))
    return "\x1f".join(parts).encode()


def embedding_key(
    tenant: str | None, provider: str, model: str, dimensions: int | None, text: str
) -> str:
    """The Redis key of ``text``'s vector from ``provider``/``model`` for ``tenant``."""
    digest = hashlib.sha256(_scope(tenant, provider, model, dimensions) + b"\x1e" + text.encode())
    return f"{PREFIX}:e:{digest.hexdigest()}"


def pack(tag: bytes, vector: Sequence[float]) -> bytes:
    """``tag`` then the vector as float32 little-endian bytes."""
    values = array("f", vector)
    if sys.byteorder == "big":
        values.byteswap()
    return tag + values.tobytes()


def unpack(tag: bytes, raw: bytes) -> list[float] | None:
    """The vector stored in ``raw``, or None when its tag is not ``tag`` or it is torn."""
    body = raw[_TAG_BYTES:]
    if raw[:_TAG_BYTES] != tag or not body or len(body) % 4:
        return None
    values = array("f")
    values.frombytes(body)
    if sys.byteorder == "big":
        values.byteswap()
    return values.tolist()


def as_float32(vector: Sequence[float]) -> list[float]:
    """``vector`` rounded to float32, as a stored vector reads back: a fresh answer and a
    cached one are then the same numbers."""
    return array("f", vector).tolist()


class EmbeddingCache:
    def __init__(
        self, redis: aioredis.Redis, ttl: int, tenant_ttls: dict[str, int] | None = None
    ) -> None:
        self.redis = redis
        #: Seconds a vector is kept (the response cache's TTL), per tenant where set.
        self.ttl = ttl
        self.tenant_ttls = tenant_ttls or {}

    def ttl_for(self, tenant: str | None) -> int:
        return self.tenant_ttls.get(tenant, self.ttl) if tenant is not None else self.ttl

    async def lookup(
        self,
        tenant: str | None,
        provider: str,
        model: str,
        dimensions: int | None,
        texts: Sequence[str],
    ) -> list[list[float] | None]:
        """Each text's stored vector, or None, in the order of ``texts`` (one MGET)."""
        if not texts:
            return []
        keys = [embedding_key(tenant, provider, model, dimensions, t) for t in texts]
        try:
            values = await self.redis.mget(keys)
        except RedisError as exc:
            log.warning("embedding cache lookup failed (treated as a miss): %s", exc)
            return [None] * len(texts)
        tag = self._tag(tenant, provider, model, dimensions)
        out: list[list[float] | None] = []
        for raw in values:
            vector = unpack(tag, raw) if isinstance(raw, bytes) else None
            if raw is not None and vector is None:
                log.error("embedding cache entry under the wrong key ignored (%s)", model)
            out.append(vector)
        return out

    async def store(
        self,
        tenant: str | None,
        provider: str,
        model: str,
        dimensions: int | None,
        vectors: dict[str, list[float]],
    ) -> None:
        """Keep each text's vector for the tenant's TTL (nothing when it is 0)."""
        ttl = self.ttl_for(tenant)
        if not vectors or ttl <= 0:
            return
        tag = self._tag(tenant, provider, model, dimensions)
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for text, vector in vectors.items():
                    key = embedding_key(tenant, provider, model, dimensions, text)
                    pipe.set(key, pack(tag, vector), ex=ttl)
                await pipe.execute()
        except RedisError as exc:
            log.warning("embedding cache store failed: %s", exc)

    @staticmethod
    def _tag(tenant: str | None, provider: str, model: str, dimensions: int | None) -> bytes:
        return hashlib.sha256(_scope(tenant, provider, model, dimensions)).digest()[:_TAG_BYTES]

"""API keys bound to tenants, kept in Redis as hashes only.

A key is shown once, when it is created (``agentqueue keys create``); Redis holds its
SHA-256 (a key has 256 random bits, so a fast hash is enough — there is nothing to
brute-force) with the tenant it belongs to, a name, the priorities it may use and when it
was created or revoked. ``key_id`` (the first 12 hex digits of the hash) names a key in
listings and in revocation without revealing it.
"""

from __future__ import annotations

import hashlib
import secrets
import time

import redis.asyncio as aioredis
from pydantic import BaseModel, Field

from agentqueue.core.base.priority import Priority

#: Every agentqueue key starts with this, so secret scanners can recognise one.
KEY_PREFIX = "aq_"


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeyRecord(BaseModel):
    key_id: str
    tenant: str
    name: str = ""
    #: Priorities this key may submit at; empty means all.
    priorities: list[Priority] = Field(default_factory=list)
    created_at: float = Field(default_factory=time.time)
    revoked_at: float | None = None

    def allows(self, priority: Priority) -> bool:
        return not self.priorities or priority in self.priorities

    def highest_allowed(self) -> Priority:
        for priority in (Priority.HIGH, Priority.STANDARD, Priority.BATCH):
            if self.allows(priority):
                return priority
        return Priority.BATCH


class ApiKeys:
    def __init__(self, redis: aioredis.Redis, *, prefix: str = "aq:apikey:") -> None:
        self.redis = redis
        self.prefix = prefix

    def _by_digest(self, digest: str) -> str:
        return f"{self.prefix}{digest}"

    @property
    def _index(self) -> str:
        return f"{self.prefix}index"  # key_id → digest

    async def create(
        self, tenant: str, *, name: str = "", priorities: list[Priority] | None = None
    ) -> tuple[str, ApiKeyRecord]:
        """A new key for ``tenant``: the plaintext (shown once) and its record."""
        if not tenant or ":" in tenant or len(tenant) > 64:
            raise ValueError("tenant: 1 to 64 characters, no ':'")
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        digest = key_digest(key)
        record = ApiKeyRecord(
            key_id=digest[:12], tenant=tenant, name=name, priorities=priorities or []
        )
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self._by_digest(digest), record.model_dump_json())
            pipe.hset(self._index, record.key_id, digest)
            await pipe.execute()
        return key, record

    async def lookup(self, key: str) -> ApiKeyRecord | None:
        """The key's record, or None when unknown or revoked."""
        raw = await self.redis.get(self._by_digest(key_digest(key)))
        if raw is None:
            return None
        record = ApiKeyRecord.model_validate_json(raw)
        return None if record.revoked_at is not None else record

    async def list(self, tenant: str | None = None) -> list[ApiKeyRecord]:
        digests = list((await self.redis.hgetall(self._index)).values())
        if not digests:
            return []
        raws = await self.redis.mget([self._by_digest(_text(d)) for d in digests])
        records = [ApiKeyRecord.model_validate_json(r) for r in raws if r is not None]
        return sorted(
            (r for r in records if tenant is None or r.tenant == tenant),
            key=lambda r: r.created_at,
        )

    async def revoke(self, key_id: str) -> bool:
        """Revoke the key with that id; False if there is none (or it was revoked)."""
        digest = await self.redis.hget(self._index, key_id)
        if digest is None:
            return False
        name = self._by_digest(_text(digest))
        raw = await self.redis.get(name)
        if raw is None:
            return False
        record = ApiKeyRecord.model_validate_json(raw)
        if record.revoked_at is not None:
            return False
        record.revoked_at = time.time()
        await self.redis.set(name, record.model_dump_json())
        return True


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value

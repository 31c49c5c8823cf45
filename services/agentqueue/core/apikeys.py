"""API keys bound to tenants, kept in Redis as hashes only.

A key is shown once, when it is created (``agentqueue keys create`` or
``POST /admin/v1/keys``); Redis holds its SHA-256 (a key has 256 random bits, so a fast
hash is enough — there is nothing to brute-force) with what governs it: the tenant it
belongs to, a name, its role (``tenant`` or ``admin``), an optional expiry, the models and
priorities it may use, its own quotas (``core/ratelimit/key_quotas.py``) and metadata
tags counted with its usage. ``key_id`` (the first 12 hex digits of the hash) names a
key in listings, logs, the audit log and the admin API without revealing it.

Records written before these fields existed load with their defaults (role ``tenant``,
no expiry, every model, no quotas, no tags).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

import redis.asyncio as aioredis
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from agentqueue.core.base.cas import Then, update_record
from agentqueue.core.base.priority import Priority

#: Every agentqueue key starts with this, so secret scanners can recognise one.
KEY_PREFIX = "aq_"
#: Tags per key (and per request): bounded, as every tag is a usage counter.
MAX_TAGS = 16

TagKey = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[^=,|:\s]+$")]
TagValue = Annotated[str, StringConstraints(max_length=128, pattern=r"^[^=,|:]*$")]


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class Role(StrEnum):
    TENANT = "tenant"
    #: May call ``/admin/v1/…`` (and nothing of another tenant's on ``/v1``).
    ADMIN = "admin"


class KeyQuota(BaseModel):
    """A key's own limits, beside its tenant's: per minute (charged in the same atomic
    acquire as the provider and tenant budgets) and spend per UTC day and month."""

    model_config = ConfigDict(extra="forbid")

    rpm: int | None = Field(default=None, ge=1)
    tpm: int | None = Field(default=None, ge=1)
    usd_per_day: Decimal | None = Field(default=None, ge=0)
    usd_per_month: Decimal | None = Field(default=None, ge=0)

    def is_empty(self) -> bool:
        return all(v is None for v in (self.rpm, self.tpm, self.usd_per_day, self.usd_per_month))


class ApiKeyRecord(BaseModel):
    key_id: str
    tenant: str
    name: str = ""
    role: Role = Role.TENANT
    #: Priorities this key may submit at; empty means all.
    priorities: list[Priority] = Field(default_factory=list)
    #: Catalog models this key may use (names as the catalog resolves them); None: all.
    allowed_models: list[str] | None = None
    #: Unix time after which the key is refused (401); None: never.
    expires_at: float | None = None
    quotas: KeyQuota = Field(default_factory=KeyQuota)
    tags: dict[TagKey, TagValue] = Field(default_factory=dict, max_length=MAX_TAGS)
    created_at: float = Field(default_factory=time.time)
    revoked_at: float | None = None
    #: The key this one replaced (``rotate``), if any.
    rotated_from: str | None = None

    def allows(self, priority: Priority) -> bool:
        return not self.priorities or priority in self.priorities

    def allows_model(self, model: str | None) -> bool:
        """Whether the key may use ``model`` (a catalog name; None: a tier, no model)."""
        if self.allowed_models is None:
            return True
        return model is not None and model in self.allowed_models

    def expired(self, now: float | None = None) -> bool:
        return self.expires_at is not None and (now or time.time()) >= self.expires_at

    def highest_allowed(self) -> Priority:
        for priority in (Priority.HIGH, Priority.STANDARD, Priority.BATCH):
            if self.allows(priority):
                return priority
        return Priority.BATCH


def check_tenant(tenant: str) -> None:
    if not tenant or ":" in tenant or len(tenant) > 64:
        raise ValueError("tenant: 1 to 64 characters, no ':'")


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
        self,
        tenant: str,
        *,
        name: str = "",
        priorities: list[Priority] | None = None,
        role: Role = Role.TENANT,
        allowed_models: list[str] | None = None,
        expires_at: float | None = None,
        quotas: KeyQuota | None = None,
        tags: dict[str, str] | None = None,
        rotated_from: str | None = None,
    ) -> tuple[str, ApiKeyRecord]:
        """A new key for ``tenant``: the plaintext (shown once) and its record."""
        key, record = _new_key(
            tenant,
            name=name,
            priorities=priorities,
            role=role,
            allowed_models=allowed_models,
            expires_at=expires_at,
            quotas=quotas,
            tags=tags,
            rotated_from=rotated_from,
        )
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self._by_digest(key_digest(key)), record.model_dump_json())
            pipe.hset(self._index, record.key_id, key_digest(key))
            await pipe.execute()
        return key, record

    async def lookup(self, key: str) -> ApiKeyRecord | None:
        """The key's record, or None when unknown or revoked (an expired key's record is
        returned: the caller says it expired)."""
        raw = await self.redis.get(self._by_digest(key_digest(key)))
        if raw is None:
            return None
        record = ApiKeyRecord.model_validate_json(raw)
        return None if record.revoked_at is not None else record

    async def get(self, key_id: str) -> ApiKeyRecord | None:
        """The record of the key with that id (revoked ones too); None if there is none."""
        digest = await self.redis.hget(self._index, key_id)
        if digest is None:
            return None
        raw = await self.redis.get(self._by_digest(_text(digest)))
        return ApiKeyRecord.model_validate_json(raw) if raw is not None else None

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

    async def _change(
        self,
        key_id: str,
        change: Callable[[ApiKeyRecord], bool],
        then: Then[ApiKeyRecord] | None = None,
    ) -> ApiKeyRecord | None:
        """Compare-and-set of the key's record (:func:`~agentqueue.core.base.cas.update_record`,
        as tasks and sessions change theirs): None if there is no such key or ``change``
        declined; else the record as written."""
        digest = await self.redis.hget(self._index, key_id)
        if digest is None:
            return None
        try:
            return await update_record(
                self.redis,
                self._by_digest(_text(digest)),
                ApiKeyRecord,
                change,
                ttl=None,
                missing=_KeyGone,
                then=then,
            )
        except _KeyGone:
            return None

    async def update(self, key_id: str, changes: dict[str, Any]) -> ApiKeyRecord | None:
        """Change a live key's governed fields (``name``, ``role``, ``priorities``,
        ``allowed_models``, ``expires_at``, ``quotas``, ``tags``); None if there is no
        such live key. The record is validated whole before it is written."""
        allowed = {"name", "role", "priorities", "allowed_models", "expires_at", "quotas", "tags"}
        unknown = set(changes) - allowed
        if unknown:
            raise ValueError(f"cannot change {sorted(unknown)}")

        def change(record: ApiKeyRecord) -> bool:
            if record.revoked_at is not None:
                return False
            updated = ApiKeyRecord.model_validate(record.model_dump() | changes)
            for field in changes:
                setattr(record, field, getattr(updated, field))
            return True

        return await self._change(key_id, change)

    async def revoke(self, key_id: str) -> bool:
        """Revoke the key with that id; False if there is none (or it was revoked).

        Conditional on the record (WATCH): of two concurrent revocations, or a
        revocation and a rotation, exactly one succeeds."""

        def change(record: ApiKeyRecord) -> bool:
            if record.revoked_at is not None:
                return False
            record.revoked_at = time.time()
            return True

        return await self._change(key_id, change) is not None

    async def rotate(self, key_id: str) -> tuple[str, ApiKeyRecord] | None:
        """A new secret with the same tenant, role, limits and tags; the old key revoked.

        None if there is no key with that id; :class:`NotRotatable` if it is revoked
        (a concurrent rotation or revocation won) or expired (an expired key is not
        revived: create a new one). The old key's revocation and the new key's creation
        are one transaction, conditional (WATCH) on the old record being unchanged, so a
        key is rotated exactly once. The new key has an id of its own (ids are derived
        from the secret), naming the old one in ``rotated_from``.
        """
        made: list[tuple[str, ApiKeyRecord]] = []  # the last try's (a WatchError retries)

        def change(old: ApiKeyRecord) -> bool:
            if old.revoked_at is not None:
                raise NotRotatable(key_id, "revoked")
            if old.expired():
                raise NotRotatable(key_id, "expired")
            made[:] = [
                _new_key(
                    old.tenant,
                    name=old.name,
                    priorities=old.priorities,
                    role=old.role,
                    allowed_models=old.allowed_models,
                    expires_at=old.expires_at,
                    quotas=old.quotas,
                    tags=old.tags,
                    rotated_from=old.key_id,
                )
            ]
            old.revoked_at = time.time()
            return True

        def then(pipe: Any, _old: ApiKeyRecord) -> None:
            key, record = made[0]
            new_digest = key_digest(key)
            pipe.set(self._by_digest(new_digest), record.model_dump_json())
            pipe.hset(self._index, record.key_id, new_digest)

        if await self._change(key_id, change, then) is None:
            return None
        return made[0]


class _KeyGone(Exception):
    """The index named a record that is not there (deleted meanwhile)."""


class NotRotatable(Exception):
    """The key cannot be rotated: ``reason`` is ``revoked`` or ``expired``."""

    def __init__(self, key_id: str, reason: str) -> None:
        super().__init__(f"key {key_id!r} is {reason}")
        self.key_id = key_id
        self.reason = reason


def _new_key(
    tenant: str,
    *,
    name: str,
    priorities: list[Priority] | None,
    role: Role,
    allowed_models: list[str] | None,
    expires_at: float | None,
    quotas: KeyQuota | None,
    tags: dict[str, str] | None,
    rotated_from: str | None,
) -> tuple[str, ApiKeyRecord]:
    """A new secret and its record (not written)."""
    check_tenant(tenant)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    record = ApiKeyRecord(
        key_id=key_digest(key)[:12],
        tenant=tenant,
        name=name,
        role=role,
        priorities=priorities or [],
        allowed_models=allowed_models,
        expires_at=expires_at,
        quotas=quotas or KeyQuota(),
        tags=tags or {},
        rotated_from=rotated_from,
    )
    return key, record


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def parse_tags(header: str | None) -> dict[str, str]:
    """``k=v,k2=v2`` (the ``x-agentqueue-tags`` header) as tags; ValueError naming what
    is wrong (a pair without ``=``, a character a tag may not hold, too many)."""
    out: dict[str, str] = {}
    for pair in (header or "").split(","):
        if not pair.strip():
            continue
        name, sep, value = pair.strip().partition("=")
        if not sep or not _usable(name.strip(), value.strip()):
            raise ValueError(f"tag {pair.strip()!r}: expected k=v (no '|', ':', '=' or ',')")
        out[name.strip()] = value.strip()
    if len(out) > MAX_TAGS:
        raise ValueError(f"at most {MAX_TAGS} tags")
    return out


def usage_tags(key: ApiKeyRecord | None, *requested: dict[str, str]) -> dict[str, str]:
    """The tags a request's usage is counted under: the key's, then each of
    ``requested`` in turn (a later one wins), keeping only usable ones and at most
    :data:`MAX_TAGS` (every tag is a counter in the ledger)."""
    out = dict(key.tags) if key is not None else {}
    for tags in requested:
        for name, value in tags.items():
            if _usable(name, value):
                out[name] = value
    return dict(list(out.items())[:MAX_TAGS])


def _usable(name: str, value: str) -> bool:
    bad = set("=,|:")
    return (
        0 < len(name) <= 64
        and len(value) <= 128
        and not (bad & set(name))
        and not (set("|:,=") & set(value))
        and not any(c.isspace() for c in name)
    )

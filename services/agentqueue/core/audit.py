"""The audit log of admin actions: who did what to what, and when, kept in Redis.

One capped stream, ``aq:audit``: each entry names the actor (an admin key's id, or
``bootstrap`` for ``AGENTQUEUE_ADMIN_KEY``, never a secret), the action
(``key.create``, ``dead_letter.requeue``…), its target (a key id, a tenant, a message
id) and details as JSON. Entries older than the log's TTL are trimmed on every write
(``XADD … MINID``), the stream is capped at :data:`MAX_ENTRIES` besides, and the key
itself expires a TTL after the last write. Stream ids are time-ordered, so they are the
cursor of ``GET /admin/v1/audit`` (newest first).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

AUDIT_KEY = "aq:audit"
#: Entries kept at most, whatever their age.
MAX_ENTRIES = 100_000


@dataclass(frozen=True)
class AuditEntry:
    id: str
    at: float
    actor: str
    action: str
    target: str
    details: dict[str, Any]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class AuditLog:
    def __init__(self, redis: aioredis.Redis, *, ttl_s: int = 90 * 24 * 3600) -> None:
        self.redis = redis
        self.ttl_s = ttl_s

    async def append(
        self, actor: str, action: str, target: str = "", details: dict[str, Any] | None = None
    ) -> str:
        now_ms = int(time.time() * 1000)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xadd(
                AUDIT_KEY,
                {
                    "actor": actor,
                    "action": action,
                    "target": target,
                    "details": json.dumps(details or {}, default=str, sort_keys=True),
                },
                maxlen=MAX_ENTRIES,
                approximate=True,
            )
            pipe.xtrim(AUDIT_KEY, minid=str(now_ms - self.ttl_s * 1000), approximate=True)
            pipe.expire(AUDIT_KEY, self.ttl_s)
            entry_id, *_ = await pipe.execute()
        return _text(entry_id)

    async def read(
        self, *, limit: int = 100, before: str | None = None
    ) -> tuple[list[AuditEntry], str | None]:
        """Entries newest first, from before ``before`` (an entry id); with the id to pass
        as ``before`` for the next page (None when there are no more)."""
        high = "+"
        if before:
            ms, _, seq = before.partition("-")
            if int(seq or 0) > 0:
                high = f"{int(ms)}-{int(seq) - 1}"
            elif int(ms) > 0:
                high = f"{int(ms) - 1}-{2**64 - 1}"
            else:
                return [], None  # nothing is older than the first possible id
        raw: Any = await self.redis.xrevrange(AUDIT_KEY, max=high, min="-", count=limit + 1)
        entries = [
            AuditEntry(
                id=_text(entry_id),
                at=int(_text(entry_id).split("-")[0]) / 1000,
                actor=_text(fields.get(b"actor", fields.get("actor", ""))),
                action=_text(fields.get(b"action", fields.get("action", ""))),
                target=_text(fields.get(b"target", fields.get("target", ""))),
                details=json.loads(_text(fields.get(b"details", fields.get("details", "{}")))),
            )
            for entry_id, fields in raw
        ]
        more = len(entries) > limit
        entries = entries[:limit]
        return entries, (entries[-1].id if more and entries else None)

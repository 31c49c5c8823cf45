"""Vectors in Redis, searched in-process: plain Redis 7 has no vector search.

Each semantic scope is one Redis list of packed records (expiry, the exact-cache key the
answer lives under, the float32 vector) and a counter of records ever appended. Every
process keeps a numpy matrix per scope it has searched and, before each search, reads
only the records appended since (one script call: nothing new costs one round trip).
A scope past ``max_entries`` drops its oldest records; a process that fell behind a
trim reloads the scope whole. Search is one matrix-vector product over unit vectors
(cosine similarity), ~1 to 3 ms at 10k entries and a few ms more at 100k (bench/cache.py).

Memory: 384 float32 = 1.5 KiB a vector, so 100k entries are ~155 MiB in Redis and in
each process that searches that scope; the processes keep at most ``max_scopes`` scopes.
"""

from __future__ import annotations

import asyncio
import struct
import time
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import redis.asyncio as aioredis

from agentqueue.core.cache.embedder import Vector
from agentqueue.core.cache.keys import PREFIX

_HEADER = struct.Struct("<d64s")  # expires_at (unix seconds), exact key digest (hex)

#: Append one record, count it, trim to ARGV[3] records, keep the scope ARGV[2] s at least.
_APPEND = """
redis.call('rpush', KEYS[1], ARGV[1])
local n = redis.call('incr', KEYS[2])
local len = redis.call('llen', KEYS[1])
local cap = tonumber(ARGV[3])
if len > cap then redis.call('ltrim', KEYS[1], len - cap, -1) end
local ttl = tonumber(ARGV[2])
for i = 1, 2 do
  if redis.call('ttl', KEYS[i]) < ttl then redis.call('expire', KEYS[i], ttl) end
end
return n
"""

#: Records appended since ARGV[1] of them were seen: {count, 0, records} or, when some
#: were trimmed away meanwhile, {count, 1, every record}.
_SINCE = """
local n = tonumber(redis.call('get', KEYS[2]) or '0')
local seen = tonumber(ARGV[1])
if n == seen then return {n, 0, {}} end
local len = redis.call('llen', KEYS[1])
local want = n - seen
if want < 0 or want > len then return {n, 1, redis.call('lrange', KEYS[1], 0, -1)} end
return {n, 0, redis.call('lrange', KEYS[1], len - want, -1)}
"""


@dataclass(frozen=True)
class Match:
    digest: str
    similarity: float


def pack(vector: Vector, digest: str, expires_at: float) -> bytes:
    return _HEADER.pack(expires_at, digest.encode()) + np.asarray(vector, np.float32).tobytes()


class ScopeIndex:
    """One scope's vectors in memory: a growing matrix, with expiries and keys."""

    def __init__(self, cap: int = 100_000) -> None:
        self.cap = cap
        self.seen = 0
        self.clear()

    def clear(self) -> None:
        self.size = 0
        self.matrix: npt.NDArray[np.float32] = np.zeros((0, 0), np.float32)
        self.expires: npt.NDArray[np.float64] = np.zeros(0)
        self.digests: list[str] = []

    def extend(self, records: list[bytes]) -> None:
        if not records:
            return
        dim = (len(records[0]) - _HEADER.size) // 4
        rows = np.empty((len(records), dim), np.float32)
        expires = np.empty(len(records))
        for i, record in enumerate(records):
            expires[i], digest = _HEADER.unpack_from(record)
            self.digests.append(digest.decode())
            rows[i] = np.frombuffer(record, np.float32, offset=_HEADER.size)
        if self.matrix.shape[1] != dim:  # the first records (one space, one dimension)
            self.matrix = np.zeros((0, dim), np.float32)
        if self.size + len(records) > self.matrix.shape[0]:
            capacity = max(64, 2 * (self.size + len(records)))
            grown = np.zeros((capacity, dim), np.float32)
            grown[: self.size] = self.matrix[: self.size]
            self.matrix = grown
            self.expires = np.resize(self.expires, capacity)
        self.matrix[self.size : self.size + len(records)] = rows
        self.expires[self.size : self.size + len(records)] = expires
        self.size += len(records)
        if self.size > self.cap:  # Redis trimmed these too: keep the newest ``cap``
            drop = self.size - self.cap
            self.matrix[: self.cap] = self.matrix[drop : self.size]
            self.expires[: self.cap] = self.expires[drop : self.size]
            del self.digests[:drop]
            self.size = self.cap

    def search(self, query: Vector, threshold: float, k: int, now: float) -> list[Match]:
        """The ``k`` most similar live vectors at or above ``threshold``, best first."""
        if self.size == 0 or query.shape[0] != self.matrix.shape[1]:
            return []
        sims = self.matrix[: self.size] @ query
        sims[self.expires[: self.size] <= now] = -1.0
        k = min(k, self.size)
        top = np.argpartition(-sims, k - 1)[:k]
        top = top[np.argsort(-sims[top])]
        return [Match(self.digests[i], float(sims[i])) for i in top if sims[i] >= threshold]


class VectorStore:
    """Scopes in Redis and their in-process indexes (at most ``max_scopes`` kept)."""

    def __init__(
        self,
        redis: aioredis.Redis,
        space: str,
        *,
        max_entries: int = 100_000,
        max_scopes: int = 256,
    ) -> None:
        self.redis = redis
        self.space = space
        self.max_entries = max_entries
        self.max_scopes = max_scopes
        self._indexes: OrderedDict[str, ScopeIndex] = OrderedDict()
        self._append = redis.register_script(_APPEND)
        self._since = redis.register_script(_SINCE)
        self._refreshing = asyncio.Lock()  # two refreshes of one scope would add twice

    def _keys(self, scope: str) -> list[str]:
        base = f"{PREFIX}:s:{self.space}:{scope}"
        return [base, f"{base}:n"]

    async def add(self, scope: str, vector: Vector, digest: str, ttl: int) -> None:
        record = pack(vector, digest, time.time() + ttl)
        await self._append(keys=self._keys(scope), args=[record, ttl, self.max_entries])

    async def index(self, scope: str) -> ScopeIndex:
        """The scope's index, with every record appended so far."""
        async with self._refreshing:
            index = self._indexes.pop(scope, None) or ScopeIndex(self.max_entries)
            self._indexes[scope] = index  # most recently used last
            while len(self._indexes) > self.max_scopes:
                self._indexes.popitem(last=False)
            count, reload, records = await self._since(keys=self._keys(scope), args=[index.seen])
            if int(reload):
                index.clear()
            index.extend(list(records))
            index.seen = int(count)
            return index

    async def search(self, scope: str, query: Vector, threshold: float, k: int) -> list[Match]:
        index = await self.index(scope)
        return index.search(query, threshold, k, time.time())

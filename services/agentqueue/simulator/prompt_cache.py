"""Anthropic's prompt cache, simulated: marked prefixes are written once, then read.

A request's ``cache_control`` marks cut its prompt (tools, then system, then messages)
into prefixes. The longest marked prefix seen before on the same key and model, within
five minutes of its last use, is a cache read; the longest marked prefix beyond it, when
it reaches the model's minimum cacheable length, is a cache write; the rest is plain
input — as Anthropic reports them in ``usage`` (``cache_read_input_tokens``,
``cache_creation_input_tokens``, ``input_tokens`` excluding both).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

#: Seconds a cached prefix lives after its last use (Anthropic's default "5m").
TTL_S = 300.0

#: Minimum cacheable prefix by model family (first match), as Anthropic documents it.
_MINIMUMS = (
    ("claude-haiku-4", 4096),
    ("claude-opus-4-5", 4096),
    ("claude-opus-4-6", 4096),
    ("claude-sonnet-4-6", 2048),
    ("claude-3-5-haiku", 2048),
    ("claude-3-haiku", 2048),
)


def minimum_tokens(model: str) -> int:
    return next((tokens for prefix, tokens in _MINIMUMS if model.startswith(prefix)), 1024)


@dataclass(frozen=True)
class Prefix:
    """A marked prefix: the hash of everything up to the mark, and its tokens."""

    digest: str
    tokens: int


@dataclass(frozen=True)
class CacheUsage:
    input_tokens: int
    cache_write_tokens: int
    cache_read_tokens: int


class PrefixHasher:
    """Builds the prefixes of one request, block by block, in the order the API reads."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self.tokens = 0
        self.marks: list[Prefix] = []

    def add(self, text: str, tokens: int, marked: bool) -> None:
        self._hash.update(text.encode() + b"\x1f")
        self.tokens += tokens
        if marked:
            self.marks.append(Prefix(self._hash.copy().hexdigest(), self.tokens))


class PromptCache:
    def __init__(self) -> None:
        self._expires: dict[tuple[str, str, str], float] = {}

    def reset(self) -> None:
        self._expires.clear()

    def account(self, key: str, model: str, marks: list[Prefix], total: int) -> CacheUsage:
        now = time.monotonic()
        read = 0
        for mark in marks:
            if self._expires.get((key, model, mark.digest), 0.0) > now:
                read = max(read, mark.tokens)
        write = 0
        for mark in marks:
            if mark.tokens > read and mark.tokens >= minimum_tokens(model):
                write = max(write, mark.tokens - read)
        for mark in marks:
            if mark.tokens <= read + write and mark.tokens >= minimum_tokens(model):
                self._expires[(key, model, mark.digest)] = now + TTL_S
        return CacheUsage(max(0, total - read - write), write, read)

"""Deterministic replies and the simulator's token estimate.

The same request always gets the same reply, so tests can compare streamed and whole
answers and caches can be checked. Tokens are estimated as ``ceil(chars / 4)`` per
text plus 4 per message — roughly what English text costs on current tokenizers — and
the same estimate serves usage, count-tokens and the rate-limit buckets.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable

_WORDS = (
    "agents",
    "queue",
    "tokens",
    "budget",
    "latency",
    "provider",
    "fallback",
    "cache",
    "worker",
    "limits",
    "stream",
    "session",
    "context",
    "priority",
    "retry",
    "circuit",
    "scale",
    "throughput",
    "cost",
    "model",
    "request",
    "answer",
    "steady",
    "careful",
    "quickly",
    "reliable",
    "within",
    "across",
    "every",
    "minute",
    "batch",
    "results",
)


def estimate_tokens(texts: Iterable[str]) -> int:
    return sum(math.ceil(len(t) / 4) + 4 for t in texts)


def reply_tokens(
    model: str, system: str | None, turns: Iterable[str], max_tokens: int
) -> list[str]:
    """The reply as a list of pieces, one simulated token each (a word and its space)."""
    digest = hashlib.sha256("\x1f".join([model, system or "", *turns]).encode()).digest()
    length = min(max_tokens, 20 + digest[0] % 100)
    head = f"Simulated {model} reply:".split()
    words = [*head, *(_WORDS[digest[(i % 31) + 1] % len(_WORDS)] for i in range(length))]
    words = words[: max(length, 1)]
    return [w if i == 0 else " " + w for i, w in enumerate(words)]

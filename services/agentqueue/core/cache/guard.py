"""The guard between "similar" and "same answer": a semantic match is served only when
the two prompts are the same request in other words, by a short whitelist.

Embeddings place "Flights from London to Paris" on top of "Flights from Paris to
London", "Convert 100 °F to Celsius" on "Convert 100 °C to Fahrenheit", ``CO`` on
``Co`` and an indented line on an unindented one: the vectors of near misses are often
*identical*, so no threshold separates them. The guard therefore does not look for
differences that matter (a blacklist always misses one); it allows only differences
that never matter, and refuses everything else:

- both prompts are reduced to their canonical form (:mod:`.guard_rules`): an **ordered**
  token sequence (every script; order and small words kept, case kept except a
  sentence's ordinary first word, code and quotations whole and exact), undoing only
  the whitelisted rewordings (punctuation, contractions, courtesies, "how do I" / "how
  to", UK/US spelling, a few synonyms: :mod:`.guard_words`);
- the hit is served only when the two forms are equal, token for token.

A refused true paraphrase costs one provider call; a wrong hit serves another question's
answer, so every rule errs towards refusing. Pure functions (and a small cache of
recent forms): two prompts of a few dozen words take ~0.1 ms of CPU, of 200 words ~1.5 ms.

The refusal names what differs first (for ``agentqueue_cache_guard_refusals_total``):
``long``, ``code``, ``numbers``, ``negation``, ``operators``, ``quoted``, ``case``,
``order``, ``entities`` or ``wording``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from agentqueue.core.cache.guard_rules import canonical
from agentqueue.core.cache.guard_tokens import Token, exact_form

#: Longer prompts (documents, pasted files) are compared exactly, spaces at line ends
#: aside: their embeddings see only the first ~256 word pieces, so two documents that
#: share a beginning match, and the rules cost ~8 µs of CPU a token; past ~700 words
#: (or fewer, of symbols) that eats into the lookup's budget, and a paraphrased
#: document is rare anyway.
EXACT_ABOVE = 4096

_NEGATIONS = frozenset(
    ["not", "no", "never", "none", "nobody", "nothing", "nowhere", "neither", "nor", "without"]
)
_OPERATORS = frozenset("+-*/=<>%^\u00d7\u00f7\u2212\u2260\u2264\u2265")


def _numbers(form: Sequence[Token]) -> list[str]:
    return [t.text for t in form if t.kind == "number"]


def _negations(form: Sequence[Token]) -> int:
    return sum(t.kind == "word" and t.text in _NEGATIONS for t in form)


def _operators(form: Sequence[Token]) -> list[str]:
    return [
        t.text
        for t in form
        if t.kind == "operator" or (t.kind == "symbol" and t.text in _OPERATORS)
    ]


def _quoted(form: Sequence[Token]) -> list[str]:
    return [t.text for t in form if t.kind in ("quote", "code")]


def _reason(a: tuple[Token, ...], b: tuple[Token, ...]) -> str:
    """What differs first between two unequal forms (the same answer either way round)."""
    if any(len(f) == 1 and f[0].kind == "code" for f in (a, b)):
        return "code"
    if _numbers(a) != _numbers(b):
        return "numbers"
    if _negations(a) != _negations(b):
        return "negation"
    if _operators(a) != _operators(b):
        return "operators"
    if _quoted(a) != _quoted(b):
        return "quoted"
    texts_a, texts_b = [t.text for t in a], [t.text for t in b]
    if [t.casefold() for t in texts_a] == [t.casefold() for t in texts_b]:
        return "case"
    if Counter(texts_a) == Counter(texts_b):
        return "order"
    changed = (Counter(a) - Counter(b)) + (Counter(b) - Counter(a))
    if any(t.kind == "name" or not t.text.isascii() for t in changed):
        return "entities"
    return "wording"


def refusal(asked: str, cached: str) -> str | None:
    """Why ``cached``'s answer must not serve ``asked``; None when they are the same request."""
    if asked == cached:
        return None
    if max(len(asked), len(cached)) > EXACT_ABOVE:
        return None if exact_form(asked) == exact_form(cached) else "long"
    a, b = canonical(asked), canonical(cached)
    if a == b:
        return None
    return _reason(a, b)


def same_request(asked: str, cached: str) -> bool:
    return refusal(asked, cached) is None


#: The former name, for callers written against the lexical guard.
same_facts = same_request

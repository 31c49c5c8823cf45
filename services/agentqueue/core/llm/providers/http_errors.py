"""What every provider's HTTP errors share: the status → error-class rule and retry-after.

Each adapter's ``_translate`` extracts the status, message and wait from its SDK's
exception and calls :func:`error_for_status`, so the mapping of status codes to our
hierarchy is written once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from agentqueue.core.base.errors import (
    BadRequest,
    ContextTooLong,
    Overloaded,
    ProviderAuthError,
    ProviderError,
    ProviderServerError,
    RateLimited,
)

#: Phrases providers use when a prompt does not fit the model's window.
_CONTEXT_PHRASES = (
    "prompt is too long",
    "context length",
    "context_length_exceeded",
    "maximum context",
    "too many tokens",
    "exceeds the maximum",
)


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """Seconds from ``retry-after-ms`` or ``retry-after`` (seconds form), if present."""
    if not headers:
        return None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) * scale
        except ValueError:
            continue  # an HTTP-date: rare from LLM providers; fall back to our backoff
        if seconds >= 0:
            return seconds
    return None


#: What providers echo of a key in their errors: OpenAI's "Incorrect API key provided:
#: sk-proj-****abcd", a Google key, a bearer token, a masked run ending in a key's tail.
_KEY_LIKE = re.compile(
    r"(?:sk-[A-Za-z0-9_\-*]{4,}|AIza[0-9A-Za-z_\-]{8,}|(?i:bearer)\s+\S+|\S*\*{3,}\S*)"
)


def scrub_keys(message: str) -> str:
    """``message`` without anything that looks like (part of) a credential: a provider's
    error text ends up in logs, task records and answers to clients."""
    return _KEY_LIKE.sub("[redacted]", message)


def error_for_status(
    status: int | None,
    message: str,
    *,
    provider: str,
    model: str,
    retry_after: float | None = None,
) -> ProviderError:
    message = scrub_keys(message)
    lowered = message.lower()
    cls: type[ProviderError]
    if status == 429:
        return RateLimited(
            message, retry_after=retry_after, provider=provider, model=model, status=status
        )
    if status in (529, 503):
        cls = Overloaded
    elif status is not None and status >= 500:
        cls = ProviderServerError
    elif status in (401, 403):
        cls = ProviderAuthError
    elif status == 413 or any(p in lowered for p in _CONTEXT_PHRASES):
        cls = ContextTooLong
    else:
        cls = BadRequest
    return cls(message, provider=provider, model=model, status=status)

"""What every provider's HTTP errors share: the status → error-class rule and retry-after.

Each adapter's ``_translate`` extracts the status, message and wait from its SDK's
exception and calls :func:`error_for_status`, so the mapping of status codes to our
hierarchy is written once.
"""

from __future__ import annotations

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


def error_for_status(
    status: int | None,
    message: str,
    *,
    provider: str,
    model: str,
    retry_after: float | None = None,
) -> ProviderError:
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

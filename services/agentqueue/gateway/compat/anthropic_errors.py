"""Errors on the Anthropic-compatible routes, in Anthropic's envelope and statuses.

The official ``anthropic`` SDK picks its exception class from the status (400
``BadRequestError``, 401 ``AuthenticationError``, 404 ``NotFoundError``, 529
``OverloadedError``, …) and agent frameworks branch on those classes: a 422 in the
gateway's own envelope would surface as the wrong class. So these routes answer

    {"type": "error", "error": {"type": "invalid_request_error", "message": "..."}}

with Anthropic's statuses (400, 401, 403, 404, 413, 429, 500, 529), while every other
route keeps the gateway's own handlers: :class:`AnthropicRoute` catches the errors of its
own handler (body validation, authentication, our and the core's exceptions) before the
application's handlers would see them. Messages name the field by its path
(``body.messages.0.content``), as the gateway's own errors do.

Refusals made outside any route — an oversized body (the ``BodySizeLimit``
middleware answers 413 before routing), an unknown path — are put in Anthropic's
envelope by :mod:`~agentqueue.gateway.compat.edges`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Coroutine
from typing import Any, Literal

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException as StarletteHTTPException

from agentqueue.core.base.errors import (
    BadRequest,
    BudgetExhausted,
    LimiterUnavailable,
    NoProviderAvailable,
    Overloaded,
    ProviderError,
    QuotaExceeded,
    RateLimited,
)
from agentqueue.core.ratelimit.quotas import TenantQuotas
from agentqueue.gateway.api.errors import InvalidField
from agentqueue.gateway.compat.openai_errors import json_problem

log = logging.getLogger(__name__)

#: Anthropic's error type for each status it answers with.
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}

#: Validation markers: union members are tagged ``~name`` (``anthropic_blocks``), and a
#: tag is no part of a field's path.
TAG_MARK = "~"


class AnthropicErrorDetail(BaseModel):
    type: str
    message: str


class AnthropicError(BaseModel):
    """The one shape of every error answer on the Anthropic-compatible routes."""

    type: Literal["error"] = "error"
    error: AnthropicErrorDetail


_DESCRIPTIONS = {
    400: "invalid_request_error: the body is malformed, a value is out of range or a "
    "parameter is not supported (the field is named).",
    401: "authentication_error: missing, invalid or revoked API key.",
    403: "permission_error: the API key may not do this.",
    404: "not_found_error: unknown model.",
    413: "request_too_large: the request is over the gateway's limit.",
    429: "rate_limit_error: a quota or rate limit; retry after `retry-after` seconds.",
    500: "api_error: the provider answered with an error, or the gateway failed.",
    529: "overloaded_error: no provider can answer now (or a dependency is down); retry "
    "after `retry-after` seconds.",
}


def anthropic_error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` for an Anthropic-compatible route: 400, 401, 500 and 529
    apply to every one (a body, a key, the gateway, its dependencies); pass the others."""
    return {
        code: {"model": AnthropicError, "description": _DESCRIPTIONS[code]}
        for code in sorted({400, 401, 500, 529, *codes})
    }


def error_json(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"type": "error", "error": {"type": ERROR_TYPES[status], "message": message}}
    return JSONResponse(body, status_code=status, headers=headers)


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """A validation error's location as a dotted path, without union tags."""
    return ".".join(
        str(part) for part in loc if not (isinstance(part, str) and part.startswith(TAG_MARK))
    )


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        path = field_path(error["loc"])
        if error["type"] == "extra_forbidden":
            parts.append(f"{path}: unknown field (not part of the Messages API served here)")
        elif error["type"] == "json_invalid":
            parts.append(f"body: invalid JSON ({json_problem(error)})")
        else:
            parts.append(f"{path}: {error['msg']}")
    return "; ".join(parts) or "invalid request"


def _retry_after(seconds: float | None) -> dict[str, str]:
    return {"retry-after": str(max(1, math.ceil(seconds or 1)))}


def _status_of(code: int) -> int:
    """An HTTP status of ours as the nearest one Anthropic answers with."""
    if code in ERROR_TYPES:
        return code
    if code == 503:
        return 529
    return 500 if code >= 500 else 400


async def error_response(request: Request, exc: Exception) -> Response:
    """Any error of an Anthropic-compatible handler as Anthropic would answer it."""
    if isinstance(exc, RequestValidationError):
        return error_json(400, _validation_message(exc))
    if isinstance(exc, InvalidField):
        return error_json(_status_of(exc.status), str(exc))
    if isinstance(exc, StarletteHTTPException):
        headers = dict(exc.headers) if exc.headers else None
        return error_json(_status_of(exc.status_code), str(exc.detail), headers)
    if isinstance(exc, QuotaExceeded):
        quotas = getattr(request.app.state, "quotas", None)
        if isinstance(quotas, TenantQuotas):
            exc = await quotas.name_refusal(exc)  # rpm, not tpm, when requests ran out
        return error_json(429, str(exc), _retry_after(exc.retry_after))
    if isinstance(exc, NoProviderAvailable):
        limited = bool(exc.attempts) and all(isinstance(a, RateLimited) for a in exc.attempts)
        return error_json(429 if limited else 529, str(exc), _retry_after(exc.retry_after))
    if isinstance(exc, BudgetExhausted):
        return error_json(429, str(exc), _retry_after(exc.retry_after))
    if isinstance(exc, ProviderError):
        return provider_error_json(exc)
    if isinstance(exc, RedisError | LimiterUnavailable):
        log.error("dependency unavailable: %s", exc)
        return error_json(
            529, "a dependency of the gateway is unavailable; retry later", {"retry-after": "1"}
        )
    log.exception("unhandled error", exc_info=exc)
    return error_json(500, "internal error; see the gateway log")


def provider_error_json(exc: ProviderError) -> JSONResponse:
    """A provider error that ended the call: the request's fault (400, a prompt too long
    included), a rate limit (429), overload (529), or anything else upstream (500)."""
    if isinstance(exc, BadRequest):
        return error_json(400, str(exc))
    if isinstance(exc, RateLimited):
        return error_json(429, str(exc), _retry_after(exc.retry_after))
    if isinstance(exc, Overloaded):
        return error_json(529, str(exc), {"retry-after": "1"})
    return error_json(500, str(exc))


def stream_error_type(exc: Exception) -> str:
    """The error type of a stream's ``error`` event, once the 200 has been sent."""
    if isinstance(exc, BadRequest):
        return ERROR_TYPES[400]
    if isinstance(exc, RateLimited | QuotaExceeded):
        return ERROR_TYPES[429]
    if isinstance(exc, Overloaded | NoProviderAvailable):
        return ERROR_TYPES[529]
    return ERROR_TYPES[500]


class AnthropicRoute(APIRoute):
    """A route whose every error answers in Anthropic's envelope (``route_class=``)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def anthropic_errors(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:  # every error, ours or not, in Anthropic's words
                return await error_response(request, exc)

        return anthropic_errors

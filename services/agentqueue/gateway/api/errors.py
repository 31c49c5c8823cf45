"""Our errors → HTTP, in one place. Every error body has the same shape:

    {"error": {"type": "...", "message": "...", "fields": [{"field": ..., "message": ...}]}}

``fields`` appears on validation errors and names each offending field by its path
(``body.messages.0.role``). No handler ever returns a stack trace.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException as StarletteHTTPException

from agentqueue.core.base.errors import (
    BadRequest,
    ContextTooLong,
    IdempotencyConflict,
    LimiterUnavailable,
    NoProviderAvailable,
    ProviderError,
    QueueUnavailable,
    QuotaExceeded,
    RateLimited,
    SessionBusy,
    SessionClosed,
    SessionNotFound,
    TaskNotFound,
)
from agentqueue.core.ratelimit.quotas import TenantQuotas
from agentqueue.core.tasks.agent_params import InvalidParams
from agentqueue.gateway.tracing import SCOPE_KEY as REQUEST_ID_SCOPE_KEY

log = logging.getLogger(__name__)


class FieldError(BaseModel):
    field: str
    message: str


class ErrorDetail(BaseModel):
    type: str
    message: str
    #: Validation errors: each offending field by its path (``body.messages.0.content``).
    fields: list[FieldError] | None = None
    #: Quota refusals: which quota (``tpm``, ``rpm``, ``usd_per_day``).
    quota: str | None = None
    #: Refusals of one value, as the compatible APIs name it.
    param: str | None = None


class ErrorBody(BaseModel):
    """The one shape of every error answer."""

    error: ErrorDetail


_DESCRIPTIONS = {
    400: "The request is malformed or a value is out of range (the field is named).",
    401: "Missing, invalid or revoked API key.",
    403: "The API key may not do this (a priority it is not allowed).",
    404: "No such resource for this tenant.",
    409: "The request conflicts with the resource's state.",
    413: "The request body is over the gateway's limit.",
    422: "The body or a parameter fails validation (each field is named).",
    429: "A quota or rate limit; retry after `retry-after` seconds.",
    502: "The provider answered with an error.",
    503: "A dependency (Redis, the queue, the limiter, providers) is unavailable; retry "
    "after `retry-after` seconds.",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` for the error statuses a route can answer, with the body
    shape every error has. 401, 422 and 503 apply to every authenticated route (a key,
    parameters, Redis); pass the others a route adds."""
    return {
        code: {"model": ErrorBody, "description": _DESCRIPTIONS[code]}
        for code in sorted({401, 422, 503, *codes})
    }


class InvalidField(Exception):
    """A request value the API refuses past schema validation, answered with ``status``
    (400 by default, as the compatible APIs do) naming the field."""

    def __init__(self, field: str, message: str, status: int = 400) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.status = status

    @classmethod
    def of(cls, exc: ValidationError, prefix: str = "body") -> InvalidField:
        """The first error of a pydantic validation, as a field error under ``prefix``."""
        first = exc.errors(include_url=False)[0]
        return cls(_field_path((prefix, *first["loc"])), first["msg"])


_STATUS_TYPES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "request_too_large",
    429: "rate_limited",
    503: "unavailable",
}


def error_body(type_: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"type": type_, "message": message, **extra}}


def _field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc)


async def _validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    fields = [{"field": _field_path(e["loc"]), "message": e["msg"]} for e in exc.errors()]
    summary = "; ".join(f"{f['field']}: {f['message']}" for f in fields[:5])
    return JSONResponse(
        error_body("validation_error", f"invalid request: {summary}", fields=fields),
        status_code=422,
    )


async def _http(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return JSONResponse(
        error_body(_STATUS_TYPES.get(exc.status_code, "error"), str(exc.detail)),
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


async def _invalid_field(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidField)
    return JSONResponse(
        error_body(
            "invalid_request_error",
            str(exc),
            param=exc.field,
            fields=[{"field": exc.field, "message": exc.message}],
        ),
        status_code=exc.status,
    )


async def _not_found(_: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(error_body("not_found", str(exc)), status_code=404)


async def _conflict(_: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(error_body("idempotency_conflict", str(exc)), status_code=409)


async def _session_conflict(_: Request, exc: Exception) -> JSONResponse:
    """A session busy with a step, or closed: the request may succeed later (busy) or
    never (closed), but either way it conflicts with the session's state."""
    return JSONResponse(error_body("conflict", str(exc)), status_code=409)


async def _invalid_params(_: Request, exc: Exception) -> JSONResponse:
    """An agent's parameters that fail its model outside a request body's validation."""
    return JSONResponse(error_body("validation_error", str(exc)), status_code=422)


async def _quota(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, QuotaExceeded)
    quotas = getattr(request.app.state, "quotas", None)
    if isinstance(quotas, TenantQuotas):
        exc = await quotas.name_refusal(exc)  # rpm, not tpm, when requests ran out
    return JSONResponse(
        error_body("quota_exceeded", str(exc), quota=exc.quota),
        status_code=429,
        headers={"retry-after": str(max(1, math.ceil(exc.retry_after)))},
    )


async def _no_provider(_: Request, exc: Exception) -> JSONResponse:
    """Every provider failed: 429 if all were rate limits (with the soonest retry), else 503."""
    assert isinstance(exc, NoProviderAvailable)
    limited = bool(exc.attempts) and all(isinstance(a, RateLimited) for a in exc.attempts)
    retry = max(1, math.ceil(exc.retry_after or 1))
    return JSONResponse(
        error_body("rate_limited" if limited else "unavailable", str(exc)),
        status_code=429 if limited else 503,
        headers={"retry-after": str(retry)},
    )


async def _provider(_: Request, exc: Exception) -> JSONResponse:
    """A provider error that ended the call: the request's fault (400) or upstream (502)."""
    assert isinstance(exc, ProviderError)
    if isinstance(exc, ContextTooLong):
        return JSONResponse(error_body("context_too_long", str(exc)), status_code=400)
    if isinstance(exc, BadRequest):
        return JSONResponse(error_body("invalid_request_error", str(exc)), status_code=400)
    return JSONResponse(error_body("upstream_error", str(exc)), status_code=502)


async def _store_unavailable(_: Request, exc: Exception) -> JSONResponse:
    log.error("redis unavailable: %s", exc)
    return JSONResponse(
        error_body("unavailable", "the task store is unavailable; retry later"),
        status_code=503,
        headers={"retry-after": "1"},
    )


async def _queue_unavailable(_: Request, exc: Exception) -> JSONResponse:
    """Redis could not take the task: nothing of it was written, so a retry is safe."""
    log.error("queue unavailable: %s", exc)
    return JSONResponse(
        error_body("unavailable", str(exc)), status_code=503, headers={"retry-after": "1"}
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    # answered outside RequestTracing (Starlette's outermost layer): the id added here
    request_id = request.scope.get(REQUEST_ID_SCOPE_KEY)
    return JSONResponse(
        error_body("internal_error", "internal error; see the gateway log"),
        status_code=500,
        headers={"x-request-id": request_id} if request_id else None,
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(InvalidField, _invalid_field)
    app.add_exception_handler(TaskNotFound, _not_found)
    app.add_exception_handler(SessionNotFound, _not_found)
    app.add_exception_handler(IdempotencyConflict, _conflict)
    app.add_exception_handler(SessionBusy, _session_conflict)
    app.add_exception_handler(SessionClosed, _session_conflict)
    app.add_exception_handler(InvalidParams, _invalid_params)
    app.add_exception_handler(QueueUnavailable, _queue_unavailable)
    app.add_exception_handler(QuotaExceeded, _quota)
    app.add_exception_handler(NoProviderAvailable, _no_provider)
    app.add_exception_handler(ProviderError, _provider)
    app.add_exception_handler(RedisError, _store_unavailable)
    app.add_exception_handler(LimiterUnavailable, _store_unavailable)
    app.add_exception_handler(Exception, _unexpected)

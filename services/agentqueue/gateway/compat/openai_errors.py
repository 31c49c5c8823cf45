"""Errors on the OpenAI-compatible routes, in OpenAI's envelope.

The official ``openai`` SDK picks its exception class by status (400 →
``BadRequestError``, 401 → ``AuthenticationError``, 404 → ``NotFoundError``, 422 →
``UnprocessableEntityError``, 429 → ``RateLimitError``), and agent frameworks catch those
classes and read ``error.param`` / ``error.code``. So these routes answer as OpenAI does::

    {"error": {"message": "...", "type": "invalid_request_error", "param": "messages[1].content",
               "code": null}}

— request validation is 400 naming the field, never 422. The gateway's own handlers
(``gateway.api.errors``, our envelope) stay untouched for every other route: the
translation lives in :class:`OpenAIRoute`, the ``route_class`` of the OpenAI router, which
catches what the route's dependencies and endpoint raise before the app's handlers see it.
Errors raised outside the route (the body-size middleware's 413, an unknown path's 404)
are put in OpenAI's envelope by :mod:`~agentqueue.gateway.compat.edges`.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

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
    ContextTooLong,
    LimiterUnavailable,
    NoProviderAvailable,
    ProviderError,
    QuotaExceeded,
    RateLimited,
)
from agentqueue.core.ratelimit.quotas import TenantQuotas
from agentqueue.gateway.api.errors import InvalidField, error_responses

log = logging.getLogger(__name__)


class OpenAIErrorDetail(BaseModel):
    message: str
    #: ``invalid_request_error``, ``server_error``, or for 429 what ran out (``requests``,
    #: ``tokens``, ``insufficient_quota``).
    type: str
    #: The offending request field as OpenAI names it (``messages[1].content``), or null.
    param: str | None = None
    #: ``invalid_api_key``, ``model_not_found``, ``rate_limit_exceeded``, … or null.
    code: str | None = None
    #: agentqueue's addition on a tenant quota's 429: which quota (``tpm``, ``rpm``,
    #: ``usd_per_day``), as the gateway's own routes say it. Absent otherwise.
    quota: str | None = None


class OpenAIErrorBody(BaseModel):
    """The one shape of every error answer on the OpenAI-compatible routes."""

    error: OpenAIErrorDetail


class OpenAIError(Exception):
    """An error these routes answer as it is: status, message, type, param, code."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",  # OpenAI's field name
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        quota: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = headers
        self.quota = quota


def model_not_found(name: str) -> OpenAIError:
    return OpenAIError(
        404,
        f"The model {name!r} does not exist or you do not have access to it.",
        param="model",
        code="model_not_found",
    )


_DESCRIPTIONS = {
    400: "The request is invalid: `error.param` names the field (`messages[1].content`).",
    401: "Missing, invalid or revoked API key (`error.code`: `invalid_api_key`).",
    403: "The API key may not do this (a priority it is not allowed).",
    404: "Unknown model (`error.code`: `model_not_found`, `error.param`: `model`).",
    413: "The request body is over the gateway's limit.",
    422: "Not answered by these routes (validation errors are 400, as OpenAI answers).",
    429: "A quota or rate limit (`error.code`: `rate_limit_exceeded` or `insufficient_quota`); "
    "retry after `retry-after` seconds.",
    500: "An unexpected error (`error.type`: `server_error`); see the gateway log.",
    502: "The provider answered with an error (`error.type`: `server_error`).",
    503: "A dependency or every provider is unavailable (`error.type`: `server_error`); "
    "retry after `retry-after` seconds.",
}


def openai_error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` for an OpenAI-compatible route: the statuses
    :func:`~agentqueue.gateway.api.errors.error_responses` lists for every route plus
    ``codes``, each with OpenAI's error body."""
    every_route = set(error_responses())  # 401, 422, 503: a key, parameters, Redis
    return {
        code: {"model": OpenAIErrorBody, "description": _DESCRIPTIONS[int(code)]}
        for code in sorted({*every_route, *codes}, key=int)
    }


_UNION_MEMBERS = {"str", "int", "float", "bool", "dict", "list", "none", "null"}


def openai_param(loc: Sequence[Any]) -> str | None:
    """A validation location as OpenAI names the field: ``("body", "messages", 1, "user",
    "content")`` → ``messages[1].content``. pydantic's union members (``str``,
    ``list[...]``, ``NamedToolChoice``) and the tags of tagged unions (a message's role, a
    content part's type: pydantic puts them in the location, OpenAI does not) are dropped."""
    out = ""
    tag_next = False  # the next name is a tagged union's tag (after the item's index)
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        text = str(part)
        if text == "body" and not out:
            continue
        if text.startswith("list[tagged-union"):
            tag_next = True  # content parts: list[tagged-union[TextPart,ImagePartBody,…]]
            continue
        if text in _UNION_MEMBERS or "[" in text or text[:1].isupper():
            continue  # a union member: list[TextPart], literal['auto'], NamedToolChoice
        if tag_next and out.endswith("]"):
            tag_next = False
            continue
        tag_next = text == "messages" and not out  # messages: a list tagged by role
        out += f".{text}" if out else text
    return out or None


_DOTTED_INDEX = re.compile(r"\.(\d+)(?=\.|$)")


def param_of_field(field: str) -> str:
    """Our field path (``body.messages.0.content``) as OpenAI's (``messages[0].content``)."""
    field = field.removeprefix("body.").removeprefix("body")
    return _DOTTED_INDEX.sub(r"[\1]", field)


def _retry_after(seconds: float | None) -> dict[str, str]:
    return {"retry-after": str(max(1, math.ceil(seconds or 1)))}


def json_problem(error: Any) -> str:
    """What is wrong with a body that is not JSON, and where (``Expecting value at
    character 35``)."""
    ctx = error.get("ctx") or {}
    problem = str(ctx.get("error") or "malformed JSON")
    loc = error.get("loc") or ()
    where = loc[-1] if loc and isinstance(loc[-1], int) else None
    return problem if where is None else f"{problem} at character {where}"


def _from_validation(exc: RequestValidationError) -> OpenAIError:
    errors = list(exc.errors())
    # Of a union's errors, the deepest says most (a bad part inside a list of parts, not
    # "should be a valid string").
    first = max(errors, key=lambda e: len(e.get("loc", ())), default=None) or {
        "loc": (),
        "msg": "invalid request",
        "type": "",
    }
    loc = first.get("loc", ())
    param = openai_param(loc)
    if first.get("type") == "json_invalid":
        message = f"We could not parse the JSON body of your request: {json_problem(first)}."
        param = None
    elif first.get("type") == "extra_forbidden":
        message = f"Unrecognized request argument supplied: {param}"
    elif param is None:
        message = f"Invalid request body: {first.get('msg', 'invalid')}"
    elif first.get("type") == "missing":
        message = f"Missing required parameter: '{param}'."
    else:
        message = f"Invalid value for '{param}': {first.get('msg', 'invalid')}"
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more error(s))"
    return OpenAIError(400, message, param=param)


def _from_http(exc: StarletteHTTPException) -> OpenAIError:
    status = exc.status_code
    given = getattr(exc, "headers", None)
    headers = dict(given) if given else None
    if status == 401:
        return OpenAIError(401, str(exc.detail), code="invalid_api_key", headers=headers)
    if status == 403:
        return OpenAIError(403, str(exc.detail), code="permission_denied", headers=headers)
    if status in (400, 422):  # a route's own refusal: its detail starts with the field
        field, _, message = str(exc.detail).partition(": ")
        param = param_of_field(field) if message and " " not in field else None
        return OpenAIError(400, str(exc.detail), param=param, headers=headers)
    if status >= 500:
        return OpenAIError(status, str(exc.detail), type="server_error", headers=headers)
    return OpenAIError(status, str(exc.detail), headers=headers)


async def _from_quota(request: Request, exc: QuotaExceeded) -> OpenAIError:
    quotas = getattr(request.app.state, "quotas", None)
    if isinstance(quotas, TenantQuotas):
        exc = await quotas.name_refusal(exc)  # rpm, not tpm, when requests ran out
    daily = exc.quota == "usd_per_day"
    return OpenAIError(
        429,
        str(exc),
        type="insufficient_quota" if daily else ("requests" if exc.quota == "rpm" else "tokens"),
        code="insufficient_quota" if daily else "rate_limit_exceeded",
        headers=_retry_after(exc.retry_after),
        quota=exc.quota,
    )


def _rate_limited(message: str, retry_after: float | None, kind: str) -> OpenAIError:
    """OpenAI's 429 for a limit on ``kind`` (``requests`` or ``tokens``), with when to
    retry."""
    return OpenAIError(
        429, message, type=kind, code="rate_limit_exceeded", headers=_retry_after(retry_after)
    )


def _from_provider(exc: ProviderError) -> OpenAIError:
    if isinstance(exc, ContextTooLong):
        return OpenAIError(400, str(exc), param="messages", code="context_length_exceeded")
    if isinstance(exc, BadRequest):
        return OpenAIError(400, str(exc))
    if isinstance(exc, RateLimited):
        return _rate_limited(str(exc), exc.retry_after, "requests")
    return OpenAIError(502, str(exc), type="server_error")


def _from_no_provider(exc: NoProviderAvailable) -> OpenAIError:
    """429 if every provider refused for rate limits (with the soonest retry), else 503."""
    limited = bool(exc.attempts) and all(isinstance(a, RateLimited) for a in exc.attempts)
    if limited:
        return _rate_limited(str(exc), exc.retry_after, "requests")
    return OpenAIError(503, str(exc), type="server_error", headers=_retry_after(exc.retry_after))


async def as_openai_error(request: Request, exc: Exception) -> OpenAIError:
    """Any exception a route raises, as the error OpenAI would answer."""
    if isinstance(exc, OpenAIError):
        return exc
    if isinstance(exc, RequestValidationError):
        return _from_validation(exc)
    if isinstance(exc, InvalidField):
        status = 400 if exc.status == 422 else exc.status
        param = param_of_field(exc.field)
        return OpenAIError(status, f"Invalid value for '{param}': {exc.message}", param=param)
    if isinstance(exc, StarletteHTTPException):
        return _from_http(exc)
    if isinstance(exc, QuotaExceeded):
        return await _from_quota(request, exc)
    if isinstance(exc, NoProviderAvailable):
        return _from_no_provider(exc)
    if isinstance(exc, ProviderError):
        return _from_provider(exc)
    if isinstance(exc, BudgetExhausted):
        return _rate_limited(str(exc), exc.retry_after, "tokens")
    if isinstance(exc, RedisError | LimiterUnavailable):
        log.error("store or limiter unavailable: %s", exc)
        return OpenAIError(
            503,
            "the gateway's store or limiter is unavailable; retry later",
            type="server_error",
            headers={"retry-after": "1"},
        )
    log.exception("unhandled error on an OpenAI-compatible route", exc_info=exc)
    return OpenAIError(500, "internal error; see the gateway log", type="server_error")


def error_payload(error: OpenAIError) -> dict[str, Any]:
    detail = OpenAIErrorDetail(
        message=error.message,
        type=error.type,
        param=error.param,
        code=error.code,
        quota=error.quota,
    )
    return {"error": detail.model_dump(exclude={"quota"} if error.quota is None else None)}


def render(error: OpenAIError) -> JSONResponse:
    return JSONResponse(error_payload(error), status_code=error.status, headers=error.headers)


class OpenAIRoute(APIRoute):
    """A route whose every error is answered in OpenAI's envelope (see the module doc)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer_as_openai(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:  # every error becomes OpenAI's envelope
                return render(await as_openai_error(request, exc))

        return answer_as_openai

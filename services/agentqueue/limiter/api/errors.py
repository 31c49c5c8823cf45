"""Our errors → HTTP, in one place, in the shape :class:`HttpBudgets` reads back.

Every error body is ``{"error": {"type": ..., "message": ...}}``; the headers carry what
the client rebuilds its exception from (``retry-after``, the tenant and quota of a
``quota_exceeded``, the budget of an ``unknown_budget``).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from agentqueue.core.base.errors import (
    BadRequest,
    BudgetExhausted,
    LimiterUnavailable,
    QuotaExceeded,
    UnknownBudget,
)


def error(status: int, type_: str, message: str, **headers: str) -> JSONResponse:
    return JSONResponse(
        {"error": {"type": type_, "message": message}}, status_code=status, headers=headers or None
    )


async def _exhausted(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BudgetExhausted)
    return error(429, "budget_exhausted", str(exc), **{"retry-after": f"{exc.retry_after:.3f}"})


async def _quota(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, QuotaExceeded)
    response = error(429, "quota_exceeded", str(exc), **{"retry-after": f"{exc.retry_after:.3f}"})
    response.headers["x-agentqueue-tenant"] = exc.tenant
    response.headers["x-agentqueue-quota"] = exc.quota
    return response


async def _unknown(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, UnknownBudget)
    return error(404, "unknown_budget", str(exc), **{"x-agentqueue-budget": exc.budget})


async def _too_large(_: Request, exc: Exception) -> JSONResponse:
    return error(422, "too_large", str(exc))


async def _unavailable(_: Request, exc: Exception) -> JSONResponse:
    return error(503, "unavailable", str(exc), **{"retry-after": "1"})


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(BudgetExhausted, _exhausted)
    app.add_exception_handler(QuotaExceeded, _quota)
    app.add_exception_handler(UnknownBudget, _unknown)
    app.add_exception_handler(BadRequest, _too_large)
    app.add_exception_handler(LimiterUnavailable, _unavailable)

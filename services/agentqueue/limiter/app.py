"""The limiter's HTTP API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import ValidationError

from agentqueue import __version__
from agentqueue.core.base.errors import (
    BadRequest,
    BudgetExhausted,
    LimiterUnavailable,
    QuotaExceeded,
    UnknownBudget,
)
from agentqueue.core.base.redisconn import async_redis
from agentqueue.core.ratelimit.budget import BudgetLimits
from agentqueue.core.ratelimit.redis_budgets import RedisBudgets
from agentqueue.limiter.metrics import keep_headroom_fresh
from agentqueue.limiter.schemas import (
    AcquireBody,
    FeedbackBody,
    LeaseBody,
    LimitsBody,
    SettleBody,
)
from agentqueue.limiter.settings import LimiterSettings


def _error(status: int, type_: str, message: str, **headers: str) -> JSONResponse:
    return JSONResponse(
        {"error": {"type": type_, "message": message}}, status_code=status, headers=headers or None
    )


def create_app(settings: LimiterSettings | None = None) -> FastAPI:
    settings = settings or LimiterSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        redis = async_redis(settings.redis_url.get_secret_value(), max_connections=256)
        app.state.redis = redis
        app.state.budgets = RedisBudgets(redis, lease_ttl=settings.lease_ttl)
        configured = settings.budget_limits() | settings.quota_budget_limits()
        app.state.known = set(configured)
        for name, limits in configured.items():
            await app.state.budgets.configure(name, limits)
        refresher = asyncio.create_task(
            keep_headroom_fresh(
                app.state.budgets, lambda: set(app.state.known), settings.headroom_interval
            )
        )
        try:
            yield
        finally:
            refresher.cancel()
            await redis.aclose()

    app = FastAPI(
        title="agentqueue limiter",
        version=__version__,
        lifespan=lifespan,
        summary="One budget of requests and tokens per provider and model.",
    )

    @app.exception_handler(BudgetExhausted)
    async def _exhausted(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, BudgetExhausted)
        return _error(
            429, "budget_exhausted", str(exc), **{"retry-after": f"{exc.retry_after:.3f}"}
        )

    @app.exception_handler(QuotaExceeded)
    async def _quota(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, QuotaExceeded)
        response = _error(
            429, "quota_exceeded", str(exc), **{"retry-after": f"{exc.retry_after:.3f}"}
        )
        response.headers["x-agentqueue-tenant"] = exc.tenant
        response.headers["x-agentqueue-quota"] = exc.quota
        return response

    @app.exception_handler(UnknownBudget)
    async def _unknown(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, UnknownBudget)
        return _error(404, "unknown_budget", str(exc), **{"x-agentqueue-budget": exc.budget})

    @app.exception_handler(BadRequest)
    async def _bad(_: Request, exc: Exception) -> JSONResponse:
        return _error(422, "too_large", str(exc))

    @app.exception_handler(LimiterUnavailable)
    async def _down(_: Request, exc: Exception) -> JSONResponse:
        return _error(503, "unavailable", str(exc), **{"retry-after": "1"})

    @app.post(
        "/v1/acquire",
        response_model=LeaseBody,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": AcquireBody.model_json_schema()}},
            }
        },
    )
    async def acquire(request: Request) -> Response:
        """Reserve the charges; answers when the turn comes, or 429 with its time.

        The hot path: the body is validated straight from its bytes and the answer
        serialised once (FastAPI's body parameter and response model cost a third of
        the service's CPU per acquire, measured with ``bench/limiter.py``).
        """
        try:
            body = AcquireBody.model_validate_json(await request.body())
        except ValidationError as exc:
            raise RequestValidationError(exc.errors(include_url=False)) from exc
        lease = await request.app.state.budgets.acquire(
            [c.to_charge() for c in body.charges], priority=body.priority, max_wait=body.max_wait
        )
        return Response(LeaseBody.of(lease).model_dump_json(), media_type="application/json")

    @app.post("/v1/settle")
    async def settle(body: SettleBody, request: Request) -> dict[str, bool]:
        """Replace a lease's reservation by the tokens really used."""
        settled = await request.app.state.budgets.settle(
            body.lease.to_lease(), body.actual_tokens, body.actual_output
        )
        return {"settled": settled}

    @app.post("/v1/budgets/{budget}/feedback")
    async def feedback(budget: str, body: FeedbackBody, request: Request) -> dict[str, bool]:
        """Pull a budget toward the provider's view (its headers, its 429s)."""
        lowered = await request.app.state.budgets.feedback(
            budget,
            remaining_requests=body.remaining_requests,
            remaining_tokens=body.remaining_tokens,
            remaining_input_tokens=body.remaining_input_tokens,
            remaining_output_tokens=body.remaining_output_tokens,
            retry_after=body.retry_after,
            margin=settings.limiter_margin,
            age=body.age,
        )
        return {"lowered": lowered}

    @app.put("/v1/budgets/{budget}")
    async def configure(budget: str, body: LimitsBody, request: Request) -> dict[str, str]:
        """Set a budget's limits at run time (a lower limit applies at once)."""
        limits = BudgetLimits(
            rpm=body.rpm,
            tpm=body.tpm,
            itpm=body.itpm,
            otpm=body.otpm,
            margin=settings.limiter_margin,
            minute_seconds=body.minute_seconds,
            **({"reserves": body.reserves} if body.reserves is not None else {}),
        )
        await request.app.state.budgets.configure(budget, limits)
        request.app.state.known.add(budget)
        return {"status": "configured"}

    @app.get("/v1/budgets/{budget}/headroom")
    async def headroom(budget: str, request: Request) -> dict[str, Any]:
        """Available now and sustainable per minute: what the operator scales on."""
        return asdict(await request.app.state.budgets.headroom(budget))

    @app.get("/v1/budgets")
    async def budgets(request: Request) -> dict[str, list[dict[str, Any]]]:
        rooms = [
            asdict(await request.app.state.budgets.headroom(b))
            for b in sorted(request.app.state.known)
        ]
        return {"budgets": rooms}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", response_model=None)
    async def readyz(request: Request) -> dict[str, str] | JSONResponse:
        try:
            await request.app.state.redis.ping()
        except Exception as exc:
            return _error(503, "unavailable", f"redis: {exc}")
        return {"status": "ready"}

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app

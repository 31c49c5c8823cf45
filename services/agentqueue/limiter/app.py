"""The limiter's HTTP API: the app, its lifespan, and the routers it serves.

Routes live in :mod:`agentqueue.limiter.api.routes` and read what they need from
``app.state`` (:mod:`~agentqueue.limiter.api.deps`); errors become HTTP in
:mod:`~agentqueue.limiter.api.errors`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from agentqueue import __version__
from agentqueue.core.base.redisconn import async_redis
from agentqueue.core.ratelimit.redis_budgets import RedisBudgets
from agentqueue.core.telemetry.loop_watch import start_loop_watch
from agentqueue.limiter.api.errors import install_error_handlers
from agentqueue.limiter.api.routes import budgets, health, leases
from agentqueue.limiter.metrics import keep_headroom_fresh, publish_quotas
from agentqueue.limiter.settings import LimiterSettings


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Connect to Redis, write the configured budgets, and keep the headroom gauges fresh."""
    settings: LimiterSettings = app.state.settings
    # Fail fast like the in-process budget client: callers fall back to their local share.
    redis = async_redis(
        settings, max_connections=256, retry_seconds=settings.limiter_redis_retry_seconds
    )
    app.state.redis = redis
    app.state.budgets = RedisBudgets(redis, lease_ttl=settings.lease_ttl)
    configured = settings.budget_limits() | settings.quota_budget_limits()
    app.state.known = set(configured)
    for name, limits in configured.items():
        await app.state.budgets.configure(name, limits)
    publish_quotas(settings.quotas())  # agentqueue_tenant_quota_usd_per_day
    refresher = asyncio.create_task(
        keep_headroom_fresh(
            app.state.budgets, lambda: set(app.state.known), settings.headroom_interval
        )
    )
    stop_watching = start_loop_watch("limiter")
    try:
        yield
    finally:
        await stop_watching()
        refresher.cancel()
        await redis.aclose()


def create_app(settings: LimiterSettings | None = None) -> FastAPI:
    app = FastAPI(
        title="agentqueue limiter",
        version=__version__,
        lifespan=lifespan,
        summary="One budget of requests and tokens per provider and model.",
    )
    app.state.settings = settings or LimiterSettings()
    install_error_handlers(app)
    app.include_router(leases.router)
    app.include_router(budgets.router)
    app.include_router(health.router)
    return app

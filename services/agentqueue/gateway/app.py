"""The gateway's FastAPI application factory."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from agentqueue import __version__
from agentqueue.core.apikeys import ApiKeys
from agentqueue.core.base.redisconn import async_redis
from agentqueue.core.calls.factory import configure_budgets
from agentqueue.core.llm.sdk_warmup import warm_sdks
from agentqueue.core.llm.tokenizers import preload
from agentqueue.core.queues.broker import make_broker
from agentqueue.core.sessions.store import SessionStore
from agentqueue.core.tasks.reconciler import start_reconciler
from agentqueue.core.tasks.store import TaskStore
from agentqueue.core.telemetry.exposition import mark_process_dead
from agentqueue.core.telemetry.loop_watch import start_loop_watch
from agentqueue.gateway import console
from agentqueue.gateway.api import admin
from agentqueue.gateway.api.errors import install_error_handlers
from agentqueue.gateway.api.routes import health, sessions, task_events, tasks, usage
from agentqueue.gateway.bodylimit import BodySizeLimit
from agentqueue.gateway.compat import (
    anthropic_api,
    anthropic_batches,
    edges,
    openai_api,
    openai_batches,
    openai_embeddings,
    responses_api,
)
from agentqueue.gateway.observability import HttpObservability
from agentqueue.gateway.reload import build_calls, install, start_reloading
from agentqueue.gateway.server_timing import ServerTiming
from agentqueue.gateway.settings import GatewaySettings
from agentqueue.gateway.tracing import RequestTracing

#: FastAPI's native OpenTelemetry middleware, off: agentqueue configures no OpenTelemetry
#: provider, and asking per request whether one exists cost 2-3% of a submission's CPU
#: (``bench/gateway_submit.py``). Older FastAPI versions have no such option.
_NO_TELEMETRY: dict[str, Any] = (
    {"telemetry": {"tracing": False, "metrics": False, "logs": False}}
    if "telemetry" in inspect.signature(FastAPI.__init__).parameters
    else {}
)


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        preload()  # the token counter's encoding, before the first call would stall the loop
        warm_sdks()  # the SDKs' first error and first stream: not in an outage's first second
        app.state.redis = async_redis(settings, max_connections=settings.redis_max_connections)
        await configure_budgets(settings, app.state.redis)  # limited even with no worker
        app.state.store = TaskStore(app.state.redis, ttl=settings.task_ttl)
        app.state.sessions = SessionStore(app.state.redis, ttl=settings.task_ttl)
        app.state.api_keys = ApiKeys(app.state.redis)
        # quotas, chain, pipeline, embeddings: swapped whole when the config file changes
        install(app, build_calls(settings, app.state.redis))
        app.state.broker = make_broker(settings)
        stop_reconciler = start_reconciler(app.state.store, app.state.broker, settings)
        stop_reloading = await start_reloading(app, settings)
        stop_watching = start_loop_watch("gateway")
        try:
            yield
        finally:
            await stop_watching()
            await stop_reloading()
            await stop_reconciler()
            await app.state.chain.aclose()
            app.state.broker.close()
            await app.state.redis.aclose()
            mark_process_dead()  # multiprocess metrics: this process's live gauges go

    app = FastAPI(
        title="agentqueue",
        version=__version__,
        summary="Queue, rate-limit and run LLM agent tasks across providers.",
        lifespan=lifespan,
        # /docs is the console's, from vendored Swagger UI assets (no CDN); no ReDoc
        docs_url=None,
        redoc_url=None,
        **_NO_TELEMETRY,
    )
    app.state.settings = settings
    app.state.key_hashes = settings.key_hashes()
    app.state.admin_key_hash = settings.admin_key_hash()  # the bootstrap admin (or None)
    app.state.key_cache = {}
    install_error_handlers(app)
    app.include_router(tasks.router)
    app.include_router(sessions.router)
    app.include_router(task_events.router)
    app.include_router(usage.router)
    app.include_router(admin.router)  # /admin/v1: admins only, fails closed
    app.include_router(openai_api.router)
    app.include_router(openai_embeddings.router)
    app.include_router(responses_api.router)
    app.include_router(anthropic_api.router)
    app.include_router(openai_batches.router)  # batch pass-through (issue 20)
    app.include_router(anthropic_batches.router)
    app.include_router(health.router)
    console.install(app)  # /console, its static files, /docs offline
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    # outermost: a 413, 404 or 405 raised before any route answers in the caller's API
    app.add_middleware(edges.CompatErrorEnvelopes)
    # HTTP metrics by route template and one access line per request, for every status
    # the caller gets (inside RequestTracing: the request id is known)
    app.add_middleware(HttpObservability)
    # Server-Timing: where the time before the first byte went (the call adds its phases)
    app.add_middleware(ServerTiming)
    # around everything: x-request-id on every answer, and the request's span (tracing on)
    app.add_middleware(RequestTracing)
    return app

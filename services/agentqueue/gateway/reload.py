"""The gateway's call path, built from settings and swapped whole on a reload.

Routes read ``app.state.pipeline`` (and ``chain``, ``embeddings``, ``quotas``) once per
request, so a reload that assigns new ones, all in one step of the event loop, changes
what the next request uses and nothing a running one holds: a stream keeps the pipeline
it started on. The replaced path is closed after :data:`GRACE_SECONDS` (its SDK clients
and budget connections), long enough for any call or stream to end.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import redis.asyncio as aioredis
from fastapi import FastAPI

from agentqueue.core.calls import observe
from agentqueue.core.calls.embeddings import EmbeddingCaller, build_embedding_caller
from agentqueue.core.calls.factory import build_pipeline, configure_budgets
from agentqueue.core.calls.fallback import FallbackChain
from agentqueue.core.calls.pipeline import CallPipeline
from agentqueue.core.config.schema import AgentQueueConfig
from agentqueue.core.config.watch import ConfigWatcher, Retirer
from agentqueue.core.ratelimit.quotas import TenantQuotas
from agentqueue.gateway.settings import GatewaySettings

log = logging.getLogger(__name__)

#: Seconds a replaced call path stays open for the calls and streams already on it.
GRACE_SECONDS = 600.0


@dataclass(frozen=True)
class Calls:
    """What the routes call through; one version of the configuration."""

    quotas: TenantQuotas
    chain: FallbackChain
    pipeline: CallPipeline
    embeddings: EmbeddingCaller


def build_calls(settings: GatewaySettings, redis: aioredis.Redis) -> Calls:
    quotas = TenantQuotas(redis, settings.quotas())
    pipeline = build_pipeline(
        settings, redis, max_wait=settings.interactive_max_wait, quotas=quotas
    )
    embeddings = build_embedding_caller(pipeline.chain, redis, settings)
    return Calls(quotas, pipeline.chain, pipeline, embeddings)


def install(app: FastAPI, calls: Calls) -> None:
    """Make ``calls`` what the next request uses (no await in between: one step)."""
    app.state.quotas = calls.quotas
    app.state.chain = calls.chain
    app.state.pipeline = calls.pipeline
    app.state.embeddings = calls.embeddings


async def start_reloading(
    app: FastAPI, settings: GatewaySettings, *, grace: float = GRACE_SECONDS
) -> Callable[[], Awaitable[None]]:
    """Watch ``settings.config_file`` (changes and SIGHUP) and swap the call path on each
    valid new version; return what stops watching and closes replaced paths. Without a
    configuration file, nothing is watched."""
    if not settings.config_file:

        async def nothing() -> None:
            return None

        return nothing
    retirer = Retirer(grace)

    async def on_change(_config: AgentQueueConfig) -> None:
        fresh = settings.reloaded()  # the environment and the file as they are now
        await configure_budgets(fresh, app.state.redis)
        calls = build_calls(fresh, app.state.redis)
        old: FallbackChain = app.state.chain
        install(app, calls)
        observe.forget_breakers(calls.chain.breakers, old.breakers)  # dropped deployments
        app.state.settings = fresh
        retirer.retire(old.aclose)

    watcher = ConfigWatcher(settings.config_file, on_change, current=settings.file_config())
    app.state.config_watcher = watcher
    watcher.start()
    if not watcher.install_sighup():
        log.info("SIGHUP cannot reach this event loop; %s is still polled", settings.config_file)

    async def stop() -> None:
        await watcher.stop()
        await retirer.aclose()

    return stop

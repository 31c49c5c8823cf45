"""One way to build a process's LLM call path from its settings.

The gateway (interactive endpoints) and every worker call providers through the same
parts: the SDK adapters the settings enable (:mod:`.registry`), the catalog, a breaker
per provider, and the shared rate limiter in front of every attempt — the limiter
service when ``limiter_url`` is set, otherwise the same decision made directly in Redis —
with the tenants' quotas charged alongside. Only how long a call may wait for its budget
differs between callers (someone is waiting on an interactive call), so that is an
argument; everything else comes from the settings. Without a configured budget a model is
not limited.

:func:`build_chain` is the bare :class:`FallbackChain`; :func:`build_pipeline` puts the
response cache in front of it (:class:`CallPipeline`), as the workers run it.

A budget limits only once its limits are in the shared state: every process that calls a
provider writes its configured budgets there at start (:func:`configure_budgets`; the
gateway in its lifespan, each worker before it consumes), so a gateway run alone is as
limited as one beside workers and the limiter service.
"""

from __future__ import annotations

import asyncio
import logging

import redis.asyncio as aioredis

from agentqueue.core.base.redisconn import async_redis
from agentqueue.core.calls.breaker_exchange import BreakerExchange
from agentqueue.core.calls.deployments import DeploymentRouter, Placement
from agentqueue.core.calls.fallback import FallbackChain
from agentqueue.core.calls.pipeline import CallPipeline
from agentqueue.core.calls.registry import build_providers, catalog_for, deployment_budget_limits
from agentqueue.core.ratelimit.budget import BudgetLimits
from agentqueue.core.ratelimit.gate import BudgetGate
from agentqueue.core.ratelimit.http_budgets import HttpBudgets
from agentqueue.core.ratelimit.leases import Budgets
from agentqueue.core.ratelimit.quotas import TenantQuotas
from agentqueue.core.ratelimit.redis_budgets import RedisBudgets
from agentqueue.core.settings import CoreSettings
from agentqueue.core.telemetry.metrics import init_budget, set_known_tenants

log = logging.getLogger(__name__)


def build_budgets(settings: CoreSettings) -> Budgets:
    """The shared budgets: the limiter service if configured, else Redis directly.

    Directly, through a client of its own that gives up on a lost connection after
    ``limiter_redis_retry_seconds``: the process's main client retries for much longer
    (records and usage must survive a blink), but an LLM call should not wait that long
    for its budget when the local share can decide at once.
    """
    if settings.limiter_url:
        return HttpBudgets(settings.limiter_url)
    return RedisBudgets(
        async_redis(
            settings, max_connections=32, retry_seconds=settings.limiter_redis_retry_seconds
        )
    )


async def configure_budgets(settings: CoreSettings, redis: aioredis.Redis) -> list[str]:
    """Write the configured provider budgets and tenants' quota budgets into Redis; return
    their names.

    Idempotent (every process writes the same values from the same settings; a lowered
    limit applies at once). With a limiter service (``limiter_url``) nothing is written:
    the service owns the configuration and writes it from its own settings. Raises
    :class:`~agentqueue.core.base.errors.LimiterUnavailable` when Redis does not answer —
    a process that cannot configure its budgets must not start calling unlimited.
    """
    limits = provider_budget_limits(settings) | settings.quota_budget_limits()
    if not limits or settings.limiter_url:
        return []
    budgets = RedisBudgets(redis)
    for name, budget in limits.items():
        await budgets.configure(name, budget)
    names = sorted(limits)
    log.info("budgets configured: %s", ", ".join(names))
    return names


def provider_budget_limits(settings: CoreSettings) -> dict[str, BudgetLimits]:
    """Every provider budget: the environment's (``AGENTQUEUE_BUDGETS``, account
    ``default``) and each configured deployment's, by budget name."""
    return settings.budget_limits() | deployment_budget_limits(settings, catalog_for(settings))


def deployment_router(settings: CoreSettings) -> DeploymentRouter:
    """The configuration file's routing: regions preferred, weights, strategy."""
    config = settings.file_config()
    return DeploymentRouter(
        {d.name: Placement(region=d.region, weight=d.weight) for d in config.deployments},
        region_preference=config.routing.region_preference,
        strategy=config.routing.strategy,
    )


def configure_budgets_now(settings: CoreSettings) -> list[str]:
    """:func:`configure_budgets` from synchronous code (a worker's start), on a client of
    its own."""

    async def run() -> list[str]:
        redis = async_redis(settings, max_connections=2)
        try:
            return await configure_budgets(settings, redis)
        finally:
            await redis.aclose()

    return asyncio.run(run())


def build_chain(
    settings: CoreSettings,
    redis: aioredis.Redis,
    *,
    max_wait: float | None = None,
    quotas: TenantQuotas | None = None,
) -> FallbackChain:
    """The configured providers in fallback order, each attempt behind the budget gate.

    ``max_wait``: seconds a call may wait for its budget before it falls back (default
    ``settings.limiter_max_wait``; the gateway passes its shorter interactive wait).
    ``quotas``: the tenants' quotas, when the caller shares them with other parts (the
    gateway's usage endpoint); by default built from ``settings`` — tenants' usage is
    recorded either way, quota or not.
    """
    set_known_tenants(settings.tenant_quotas)  # the tenants named in metrics' labels
    for budget in provider_budget_limits(settings):  # their counters at zero
        init_budget(budget)
    gate = BudgetGate(
        build_budgets(settings),
        max_wait=settings.limiter_max_wait if max_wait is None else max_wait,
        margin=settings.limiter_margin,
        local_limits=provider_budget_limits(settings),
        replicas=settings.limiter_replicas,
        quotas=quotas if quotas is not None else TenantQuotas(redis, settings.quotas()),
    )
    return FallbackChain(
        build_providers(settings),
        catalog_for(settings),
        failure_threshold=settings.breaker_failure_threshold,
        cooldown=settings.breaker_cooldown,
        gate=gate,
        router=deployment_router(settings),
        provider_order=settings.provider_order,
        exchange=BreakerExchange(redis) if settings.breaker_sharing else None,
    )


def build_pipeline(
    settings: CoreSettings,
    redis: aioredis.Redis,
    *,
    max_wait: float | None = None,
    quotas: TenantQuotas | None = None,
) -> CallPipeline:
    """:func:`build_chain` behind the response cache (the cache before the limiter: a hit
    spends no budget); the arguments are :func:`build_chain`'s."""
    chain = build_chain(settings, redis, max_wait=max_wait, quotas=quotas)
    return CallPipeline.from_settings(chain, redis, settings)

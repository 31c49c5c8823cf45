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
"""

from __future__ import annotations

import redis.asyncio as aioredis

from agentqueue.core.calls.fallback import FallbackChain
from agentqueue.core.calls.pipeline import CallPipeline
from agentqueue.core.calls.registry import build_providers
from agentqueue.core.llm.catalog import load_catalog
from agentqueue.core.ratelimit.gate import BudgetGate
from agentqueue.core.ratelimit.http_budgets import HttpBudgets
from agentqueue.core.ratelimit.leases import Budgets
from agentqueue.core.ratelimit.quotas import TenantQuotas
from agentqueue.core.ratelimit.redis_budgets import RedisBudgets
from agentqueue.core.settings import CoreSettings


def build_budgets(settings: CoreSettings, redis: aioredis.Redis) -> Budgets:
    """The shared budgets: the limiter service if configured, else Redis directly."""
    if settings.limiter_url:
        return HttpBudgets(settings.limiter_url)
    return RedisBudgets(redis)


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
    gate = BudgetGate(
        build_budgets(settings, redis),
        max_wait=settings.limiter_max_wait if max_wait is None else max_wait,
        margin=settings.limiter_margin,
        local_limits=settings.budget_limits(),
        replicas=settings.limiter_replicas,
        quotas=quotas if quotas is not None else TenantQuotas(redis, settings.quotas()),
    )
    return FallbackChain(
        build_providers(settings),
        load_catalog(settings.catalog_path),
        failure_threshold=settings.breaker_failure_threshold,
        cooldown=settings.breaker_cooldown,
        gate=gate,
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

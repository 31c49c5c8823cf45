"""The gateway's own LLM call pipeline, for the interactive endpoints.

The same parts as a worker's — providers through their SDKs, the shared budget, tenant
quotas and usage — built from the gateway's settings; without a configured budget a
model is not limited, exactly as in the workers.
"""

from __future__ import annotations

import redis.asyncio as aioredis

from agentqueue.core.calls.fallback import FallbackChain
from agentqueue.core.calls.registry import build_providers
from agentqueue.core.llm.catalog import load_catalog
from agentqueue.core.ratelimit.gate import BudgetGate
from agentqueue.core.ratelimit.http_budgets import HttpBudgets
from agentqueue.core.ratelimit.leases import Budgets
from agentqueue.core.ratelimit.quotas import TenantQuotas
from agentqueue.core.ratelimit.redis_budgets import RedisBudgets
from agentqueue.gateway.settings import GatewaySettings


def build_chain(
    settings: GatewaySettings, redis: aioredis.Redis, quotas: TenantQuotas
) -> FallbackChain:
    budgets: Budgets = (
        HttpBudgets(settings.limiter_url) if settings.limiter_url else RedisBudgets(redis)
    )
    return FallbackChain(
        build_providers(settings),
        load_catalog(settings.catalog_path),
        failure_threshold=settings.breaker_failure_threshold,
        cooldown=settings.breaker_cooldown,
        gate=BudgetGate(
            budgets,
            max_wait=settings.interactive_max_wait,
            margin=settings.limiter_margin,
            local_limits=settings.budget_limits(),
            replicas=settings.limiter_replicas,
            quotas=quotas,
        ),
    )

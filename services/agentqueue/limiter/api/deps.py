"""Request dependencies, as ``Annotated`` aliases the routes declare.

Everything a route needs is made once by the app's lifespan and kept on ``app.state``;
these read it back. They are ``async def`` (though none awaits) so FastAPI does not run
them in its thread pool, which would cost a thread hop per dependency per request.
"""

from __future__ import annotations

from typing import Annotated

import redis.asyncio as aioredis
from fastapi import Depends, Request

from agentqueue.core.ratelimit.redis_budgets import RedisBudgets
from agentqueue.limiter.settings import LimiterSettings


async def get_settings(request: Request) -> LimiterSettings:
    settings: LimiterSettings = request.app.state.settings
    return settings


async def get_budgets(request: Request) -> RedisBudgets:
    budgets: RedisBudgets = request.app.state.budgets
    return budgets


async def get_known(request: Request) -> set[str]:
    """Names of the budgets configured through this service (what ``/v1/budgets`` lists
    and the headroom gauges cover); a route that configures one adds it."""
    known: set[str] = request.app.state.known
    return known


async def get_redis(request: Request) -> aioredis.Redis:
    redis: aioredis.Redis = request.app.state.redis
    return redis


SettingsDep = Annotated[LimiterSettings, Depends(get_settings)]
BudgetsDep = Annotated[RedisBudgets, Depends(get_budgets)]
KnownDep = Annotated[set[str], Depends(get_known)]
RedisDep = Annotated[aioredis.Redis, Depends(get_redis)]

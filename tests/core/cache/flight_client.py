"""One process of the multi-process single-flight test: N identical calls at a set time.

``python -m tests.core.cache.flight_client REDIS_URL SIMULATOR_URL START_AT N``
prints one JSON line: how each call was answered (null: by a provider).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import redis.asyncio as aioredis

from agentqueue.core.cache.exact import ExactCache
from agentqueue.core.cache.singleflight import SingleFlight
from agentqueue.core.calls.fallback import FallbackChain
from agentqueue.core.calls.pipeline import CallPipeline
from agentqueue.core.calls.registry import build_providers
from agentqueue.core.llm.catalog import load_catalog
from agentqueue.core.llm.messages import ChatMessage, CompletionRequest
from agentqueue.core.settings import CoreSettings

REQUEST = CompletionRequest(
    messages=[ChatMessage(role="user", content="Summarise the single-flight pattern.")],
    max_tokens=64,
    temperature=0,
)


async def main(redis_url: str, simulator_url: str, start_at: float, n: int) -> None:
    redis = aioredis.Redis.from_url(redis_url)
    chain = FallbackChain(
        build_providers(CoreSettings(simulator_url=simulator_url)), load_catalog()
    )
    pipeline = CallPipeline(chain, exact=ExactCache(redis), flights=SingleFlight(redis, 20))
    await redis.ping()  # connected before the start, so the calls really overlap
    await asyncio.sleep(max(0.0, start_at - time.time()))
    results = await asyncio.gather(*(pipeline.complete(REQUEST, tenant="acme") for _ in range(n)))
    print(json.dumps([{"cached": r.cached, "text": r.completion.text} for r in results]))
    await chain.aclose()
    await redis.aclose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])))

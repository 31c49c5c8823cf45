"""One process of the multi-process single-flight test: N identical calls on a signal.

``python -m tests.core.cache.flight_client REDIS_URL SIMULATOR_URL N`` prints ``ready``
once imported and connected, makes its N calls when a line arrives on stdin (the test
releases every process at once), then prints one JSON line: how each call was answered
(null: by a provider).
"""

from __future__ import annotations

import asyncio
import json
import sys

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


#: Seconds a follower waits for the leader's answer: far more than a call takes, even on
#: a loaded machine (a follower that gives up calls the provider itself).
WAIT = 120


async def main(redis_url: str, simulator_url: str, n: int) -> None:
    redis = aioredis.Redis.from_url(redis_url)
    chain = FallbackChain(
        build_providers(CoreSettings(simulator_url=simulator_url)), load_catalog()
    )
    pipeline = CallPipeline(chain, exact=ExactCache(redis), flights=SingleFlight(redis, WAIT))
    await redis.ping()  # connected before the start, so the calls really overlap
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)  # the go, sent to every process at once
    results = await asyncio.gather(*(pipeline.complete(REQUEST, tenant="acme") for _ in range(n)))
    print(json.dumps([{"cached": r.cached, "text": r.completion.text} for r in results]))
    await chain.aclose()
    await redis.aclose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))

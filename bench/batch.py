"""The batch queue at half price: the same tasks through provider batches and online.

    .venv/bin/python -m bench.batch [--tasks 2000] [--speed 0.05] [--batch-delay 5]

Starts a private redis-server and the provider simulator (in-process thread, the OpenAI
SDK on the wire: Files + Batches for the batch path, Chat Completions online), then runs
``--tasks`` ``completion`` tasks of the ``batch`` priority twice in the same run, through
the real :class:`TaskRunner`:

1. the batch path: the runner hands each task to the collector; the processor loop (as a
   worker's batch thread runs it) flushes by count (``--batch-size``) or age (1 s), polls
   with backoff and applies the results; the simulator ends each batch ``--batch-delay``
   seconds after its creation;
2. the online path: the same tasks, ``--concurrency`` at a time, through the fallback
   chain and the shared budget in Redis.

Reported per path: total cost (the batch path at batch prices), HTTP requests to the
provider (counted on the SDK's own HTTP client), the online budget's tokens used (its
limiter's ``acquire`` calls; the batch path must use none), and each task's completion
time (created → finished) p50/p90/p99.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from agentqueue.cli.processes import ProcessGroup, start_redis
from agentqueue.core.base.priority import Priority
from agentqueue.core.batches.collector import BatchCollector, BatchPolicy
from agentqueue.core.batches.processor import BatchProcessor
from agentqueue.core.calls.fallback import FallbackChain
from agentqueue.core.calls.registry import build_providers
from agentqueue.core.llm.catalog import load_catalog
from agentqueue.core.llm.messages import ChatMessage, CompletionRequest, Tier
from agentqueue.core.llm.providers.base import Provider
from agentqueue.core.ratelimit.budget import BudgetLimits, budget_name
from agentqueue.core.ratelimit.gate import BudgetGate
from agentqueue.core.ratelimit.leases import Charge, Lease
from agentqueue.core.ratelimit.redis_budgets import RedisBudgets
from agentqueue.core.settings import CoreSettings
from agentqueue.core.tasks.model import TaskRecord, TaskSpec
from agentqueue.core.tasks.store import TaskStore
from agentqueue.simulator.settings import SimulatorSettings
from agentqueue.simulator.testing import SimulatorHandle, running_simulator
from agentqueue.worker.agents.completion import completion_result
from agentqueue.worker.runner import TaskRunner

UNLIMITED = {"all": {"tpm": 1_000_000_000, "rpm": 1_000_000}}
QUESTIONS = [
    "Summarise the trade-offs of batch inference for an overnight report.",
    "Classify this support ticket: 'my invoice shows the wrong VAT number'.",
    "Extract the company names from: 'Acme bought Globex after Initech declined'.",
    "Translate to French: 'the nightly job finished without errors'.",
]


class Counter:
    """HTTP requests made by SDK clients, through their httpx event hooks."""

    def __init__(self) -> None:
        self.requests = 0

    def attach(self, providers: list[Provider]) -> None:
        async def hook(_request: Any) -> None:
            self.requests += 1

        for provider in providers:
            client = getattr(provider, "_client", None)
            http = getattr(client, "_client", None)
            if http is not None:
                http.event_hooks["request"].append(hook)


class CountingBudgets(RedisBudgets):
    """The shared budget, counting what the online path acquires from it."""

    acquired_tokens = 0
    acquired_calls = 0

    async def acquire(self, charges: list[Charge], **kwargs: Any) -> Lease:
        CountingBudgets.acquired_calls += 1
        CountingBudgets.acquired_tokens += sum(c.tokens for c in charges if not c.quota)
        return await super().acquire(charges, **kwargs)


def spec(i: int) -> TaskSpec:
    return TaskSpec(
        priority=Priority.BATCH,
        input=CompletionRequest(
            messages=[ChatMessage(role="user", content=f"{QUESTIONS[i % 4]} (#{i})")],
            tier=Tier.EFFICIENT,
            max_tokens=128,
            temperature=0,
        ),
        batch_api=True,
    )


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": round(cuts[49], 2), "p90": round(cuts[89], 2), "p99": round(cuts[98], 2)}


def summary(records: list[TaskRecord], requests: int, wall: float) -> dict[str, Any]:
    done = [r for r in records if r.state.value == "succeeded"]
    cost = sum((r.cost_usd for r in records), Decimal(0))
    times = [(r.finished_at or 0) - r.created_at for r in done]
    return {
        "tasks": len(records),
        "succeeded": len(done),
        "cost_usd": float(round(cost, 6)),
        "provider_http_requests": requests,
        "wall_s": round(wall, 2),
        "completion_s": percentiles(times),
    }


async def batch_path(
    redis: aioredis.Redis, settings: CoreSettings, n: int, batch_size: int
) -> dict[str, Any]:
    store = TaskStore(redis, ttl=3600)
    counter = Counter()
    providers = build_providers(settings)
    counter.attach(providers)
    policy = BatchPolicy(max_requests=batch_size, max_age=1.0, poll_interval=0.5, poll_max=2.0)
    collector = BatchCollector(store, providers, load_catalog(), provider="openai", policy=policy)
    chain = FallbackChain(build_providers(settings), load_catalog())  # never called
    runner = TaskRunner(store, chain, batches=collector)
    processor = BatchProcessor(collector, to_result=completion_result)
    stop = asyncio.Event()
    loop = asyncio.create_task(processor.run(stop, interval=0.2))
    started = time.monotonic()
    ids = []
    for i in range(n):
        record, _ = await store.create(TaskRecord(tenant="bench", spec=spec(i)))
        await runner.run(record.id, retries_done=0, retries_left=3)
        ids.append(record.id)
    while True:
        records = [await store.get(i) for i in ids]
        if all(r.state.terminal for r in records):
            break
        await asyncio.sleep(0.5)
    wall = time.monotonic() - started
    stop.set()
    await loop
    await chain.aclose()
    for p in providers:
        await p.aclose()
    return summary(records, counter.requests, wall)


async def online_path(
    redis: aioredis.Redis, settings: CoreSettings, n: int, concurrency: int
) -> dict[str, Any]:
    store = TaskStore(redis, ttl=3600)
    counter = Counter()
    providers = build_providers(settings)
    counter.attach(providers)
    chain = FallbackChain(providers, load_catalog(), gate=BudgetGate(CountingBudgets(redis)))
    runner = TaskRunner(store, chain)
    ids = []
    for i in range(n):
        record, _ = await store.create(TaskRecord(tenant="bench", spec=spec(i)))
        ids.append(record.id)
    gate = asyncio.Semaphore(concurrency)

    async def one(task_id: str) -> None:
        async with gate:
            await runner.run(task_id, retries_done=0, retries_left=3)

    started = time.monotonic()
    await asyncio.gather(*(one(i) for i in ids))
    wall = time.monotonic() - started
    records = [await store.get(i) for i in ids]
    await chain.aclose()
    return summary(records, counter.requests, wall)


async def main_async(args: argparse.Namespace, redis_url: str, sim: SimulatorHandle) -> Any:
    redis = aioredis.Redis.from_url(redis_url)
    settings = CoreSettings(simulator_url=sim.url, provider_order=["openai"])
    model = load_catalog().default_model("openai", Tier.EFFICIENT).model
    await RedisBudgets(redis).configure(
        budget_name("openai", model), BudgetLimits(rpm=1_000_000, tpm=1_000_000_000)
    )
    try:
        print(f"1. batch path, {args.tasks} tasks …", flush=True)
        before = CountingBudgets.acquired_tokens, CountingBudgets.acquired_calls
        batch = await batch_path(redis, settings, args.tasks, args.batch_size)
        batch["online_budget_acquires"] = CountingBudgets.acquired_calls - before[1]
        batch["online_budget_tokens"] = CountingBudgets.acquired_tokens - before[0]
        batch["simulator_batches"] = sim.stats().get("batches", {})
        print(json.dumps(batch, indent=1), flush=True)
        print(f"2. online path, {args.tasks} tasks, {args.concurrency} at a time …", flush=True)
        before = CountingBudgets.acquired_tokens, CountingBudgets.acquired_calls
        online = await online_path(redis, settings, args.tasks, args.concurrency)
        online["online_budget_acquires"] = CountingBudgets.acquired_calls - before[1]
        online["online_budget_tokens"] = CountingBudgets.acquired_tokens - before[0]
        print(json.dumps(online, indent=1), flush=True)
        saving = 1 - batch["cost_usd"] / online["cost_usd"] if online["cost_usd"] else 0.0
        return {"batch": batch, "online": online, "cost_change": f"{-saving:+.1%}"}
    finally:
        await redis.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--speed", type=float, default=0.05, help="simulated latency scale")
    parser.add_argument("--batch-delay", type=float, default=5.0, help="seconds a batch runs")
    parser.add_argument("--batch-size", type=int, default=500, help="requests per batch")
    parser.add_argument("--concurrency", type=int, default=64, help="online tasks at once")
    args = parser.parse_args()
    group = ProcessGroup(log_dir=Path(tempfile.mkdtemp(prefix="aq-bench-batch-")))
    try:
        redis_url = start_redis(group)
        sim_settings = SimulatorSettings(
            speed=args.speed, seed=5, batch_delay_seconds=args.batch_delay
        )
        with running_simulator(sim_settings) as sim:
            sim.configure(UNLIMITED)
            results = asyncio.run(main_async(args, redis_url, sim))
    finally:
        group.stop()
    print("summary:", json.dumps(results))


if __name__ == "__main__":
    main()

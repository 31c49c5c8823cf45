"""The agent runtime's three claims, measured: parallel steps, context management, routing.

    .venv/bin/python -m bench.agent [--rounds 40] [--tasks 60] [--speed 0.5]

Starts a private redis-server and the provider simulator (in-process thread, official
SDKs on the wire) and runs the real :class:`TaskRunner` in-process:

1. ``map_reduce`` with 6 sub-questions, one step at a time vs 8 at once, at simulated
   model latency (``--speed``: 0.5 = 200 ms to the first token, 6 ms a token): wall time
   of the task and how much its calls overlapped (the simulator's own timestamps).
2. A long agent session (``--rounds`` rounds of a question, a tool call and a ~15k-token
   tool result, one step each), with context management and without: tokens sent per
   session, steps completed, largest prompt. Without it the session stops at the 200k
   window (our error, before the provider's 400); what it *would* have sent with an
   unlimited window is computed too (every step sending the whole transcript).
3. Cost per task on one mixed workload (``--tasks`` tasks: short questions, research
   tasks, long-document questions; a third of them repeats of earlier ones, as real
   traffic has), all-frontier without the cache vs ``tier=auto`` with the response cache.

Simulated prices are the catalog's list prices; token counts are the simulator's
(``ceil(chars/4) + 4`` per message). Prints a table per part and a JSON summary.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from agentqueue.cli.processes import ProcessGroup, start_redis
from agentqueue.core.calls.fallback import FallbackChain
from agentqueue.core.calls.pipeline import CallPipeline
from agentqueue.core.calls.registry import build_providers
from agentqueue.core.llm.catalog import load_catalog
from agentqueue.core.llm.messages import ChatMessage, CompletionRequest, Tier
from agentqueue.core.llm.routing import TierChoice
from agentqueue.core.llm.tokens import estimate_text
from agentqueue.core.sessions import Item, ItemKind, SessionRecord, SessionStore
from agentqueue.core.sessions.context import ContextPolicy
from agentqueue.core.settings import CoreSettings
from agentqueue.core.tasks.model import TaskRecord, TaskSpec, TaskState
from agentqueue.core.tasks.store import TaskStore
from agentqueue.simulator.settings import SimulatorSettings
from agentqueue.simulator.testing import SimulatorHandle, running_simulator
from agentqueue.worker.agents.runtime import AgentRuntime
from agentqueue.worker.runner import TaskFailed, TaskRunner

QUESTIONS = [
    "What rate limits do LLM providers enforce, and how are they counted?",
    "How does prompt caching change the cost of long agent sessions?",
    "When should a worker pool scale out, and what stops it helping?",
    "What happens when an agent's context outgrows the model's window?",
    "How should retries interact with provider retry-after headers?",
    "Which work can an efficient model do as well as a frontier one?",
]
UNLIMITED = {"all": {"tpm": 1_000_000_000, "rpm": 1_000_000}}


def chain_for(sim: SimulatorHandle) -> FallbackChain:
    settings = CoreSettings(simulator_url=sim.url)
    return FallbackChain(build_providers(settings), load_catalog())


async def submit(store: TaskStore, spec: TaskSpec) -> str:
    record, _ = await store.create(TaskRecord(tenant="bench", spec=spec))
    return record.id


async def run(runner: TaskRunner, task_id: str) -> TaskRecord:
    with contextlib.suppress(TaskFailed):
        await runner.run(task_id, retries_done=0, retries_left=0)
    return await runner.store.get(task_id)


def ask(text: str, *, tier: Tier = Tier.FRONTIER, max_tokens: int = 256) -> CompletionRequest:
    return CompletionRequest(
        messages=[ChatMessage(role="user", content=text)],
        tier=tier,
        max_tokens=max_tokens,
        temperature=0,
    )


# -- 1. parallel steps --------------------------------------------------------------------


async def parallel_steps(
    redis: aioredis.Redis, sim: SimulatorHandle, speed: float
) -> dict[str, Any]:
    sim.configure({"all": {"speed": speed}, **UNLIMITED})
    chain = chain_for(sim)
    runner = TaskRunner(TaskStore(redis, ttl=3600), chain)
    out: dict[str, Any] = {}
    for label, parallel in (("sequential", 1), ("parallel", 8)):
        sim.reset()
        sim.configure({"all": {"speed": speed}, **UNLIMITED})
        spec = TaskSpec(
            kind="map_reduce",
            input=ask("How do rate limits, caching and autoscaling interact for agents?"),
            params={"questions": QUESTIONS, "max_parallel": parallel},
        )
        started = time.perf_counter()
        record = await run(runner, await submit(runner.store, spec))
        wall = time.perf_counter() - started
        calls = sorted(
            (c for c in sim.stats()["calls"] if c["status"] == 200), key=lambda c: c["start"]
        )
        maps = calls[: len(QUESTIONS)]
        out[label] = {
            "state": record.state.value,
            "wall_s": round(wall, 3),
            "map_phase_s": round(max(c["end"] for c in maps) - min(c["start"] for c in maps), 3),
            "longest_map_call_s": round(max(c["end"] - c["start"] for c in maps), 3),
            "sum_of_map_calls_s": round(sum(c["end"] - c["start"] for c in maps), 3),
            "calls": len(record.calls),
        }
    await chain.aclose()
    out["speedup"] = round(out["sequential"]["wall_s"] / out["parallel"]["wall_s"], 2)
    return out


# -- 2. context management ------------------------------------------------------------------


def round_items(r: int) -> list[Item]:
    question = f"Round {r}: fetch the next page and tell me what changed. " + "q" * (
        20_000 if r % 4 == 0 else 3_000
    )
    return [
        Item(kind=ItemKind.USER, content=question),
        Item(kind=ItemKind.TOOL_CALL, call_id=f"c{r}", tool="fetch", content=f'{{"page": {r}}}'),
        Item(
            kind=ItemKind.TOOL_RESULT,
            call_id=f"c{r}",
            tool="fetch",
            content=f"page {r}: " + "lorem ipsum " * 5_000,
        ),
    ]


async def long_session(
    redis: aioredis.Redis, sim: SimulatorHandle, rounds: int, managed: bool
) -> dict[str, Any]:
    sim.reset()
    sim.configure({"all": {"speed": 0.0}, **UNLIMITED})
    chain = chain_for(sim)
    runtime = AgentRuntime.for_completer(chain)
    runtime.context = ContextPolicy(enabled=managed)
    store = TaskStore(redis, ttl=3600)
    runner = TaskRunner(store, chain, runtime=runtime)
    sessions = SessionStore(redis, ttl=3600)
    s = await sessions.create(
        SessionRecord(tenant="bench", system="You are a careful research agent.", max_tokens=1024)
    )
    done = 0
    error = None
    for r in range(rounds):
        await sessions.append(s.id, round_items(r))
        spec = TaskSpec(kind="session_step", input=ask("(step)"), params={"session_id": s.id})
        task = TaskRecord(tenant="bench", spec=spec)
        await sessions.begin_step(s.id, task.id)
        await store.create(task)
        record = await run(runner, task.id)
        if record.state is not TaskState.SUCCEEDED:
            error = record.error.message if record.error else record.state.value
            break
        done += 1
    calls = [c for c in sim.stats()["calls"] if c["status"] == 200]
    record_s = await sessions.get(s.id)
    transcript = await sessions.transcript(s.id)
    await chain.aclose()
    return {
        "steps_completed": done,
        "input_tokens_sent": sum(c["input_tokens"] for c in calls),
        "output_tokens": sum(c["output_tokens"] for c in calls),
        "llm_calls": len(calls),
        "largest_prompt": max((c["input_tokens"] for c in calls), default=0),
        "transcript_tokens": sum(estimate_text(i.content) for i in transcript),
        "compactions": record_s.compactions,
        "cost_usd": float(record_s.cost_usd),
        "stopped_by": error,
    }


def unmanaged_projection(rounds: int) -> int:
    """Input tokens if every step sent the whole transcript to an unlimited window."""
    system = estimate_text("You are a careful research agent.")
    total, context = 0, system
    for r in range(rounds):
        context += sum(estimate_text(i.render()) for i in round_items(r))
        total += context
        context += estimate_text("x" * 400)  # the reply, about 100 tokens
    return total


# -- 3. routing and caching -----------------------------------------------------------------


def workload(n: int, seed: int = 7) -> list[TaskSpec]:
    """Short questions, research tasks and long-document questions; a third repeat."""
    rng = random.Random(seed)
    fresh: list[TaskSpec] = []
    specs: list[TaskSpec] = []
    for i in range(n):
        if fresh and rng.random() < 1 / 3:
            specs.append(rng.choice(fresh))
            continue
        kind = rng.choice(["short", "short", "research", "document"])
        if kind == "short":
            spec = TaskSpec(kind="completion", input=ask(f"In one sentence: what is {i}?"))
        elif kind == "research":
            spec = TaskSpec(
                kind="map_reduce",
                input=ask(f"Research question {i}: how should agent platform {i} scale?"),
                params={"questions": rng.sample(QUESTIONS, 3)},
            )
        else:
            spec = TaskSpec(
                kind="completion",
                input=ask(f"Document {i}: " + "clause text " * 3_500 + "\nSummarise the risks."),
            )
        fresh.append(spec)
        specs.append(spec)
    return specs


async def cost_per_task(redis: aioredis.Redis, sim: SimulatorHandle, n: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for label, routed in (("all_frontier_no_cache", False), ("auto_routing_and_cache", True)):
        sim.reset()
        sim.configure({"all": {"speed": 0.0}, **UNLIMITED})
        await redis.flushdb()
        chain = chain_for(sim)
        settings = CoreSettings(simulator_url=sim.url, cache_enabled=routed)
        pipeline = CallPipeline.from_settings(chain, redis, settings)
        runner = TaskRunner(TaskStore(redis, ttl=3600), pipeline)
        costs: list[Decimal] = []
        models: dict[str, int] = {}
        failed = 0
        for spec in workload(n):
            if routed:
                spec = spec.model_copy(update={"tier_choice": TierChoice.AUTO})
            record = await run(runner, await submit(runner.store, spec))
            failed += record.state is not TaskState.SUCCEEDED
            costs.append(record.cost_usd)
            for c in record.calls:
                models[c.model] = models.get(c.model, 0) + 1
        await chain.aclose()
        total = sum(costs, Decimal(0))
        out[label] = {
            "tasks": n,
            "failed": failed,
            "total_usd": float(round(total, 6)),
            "per_task_usd": float(round(total / n, 6)),
            "provider_calls": sum(1 for c in sim.stats()["calls"] if c["status"] == 200),
            "calls_by_model": models,
        }
    base = out["all_frontier_no_cache"]["total_usd"]
    out["saving"] = round(1 - out["auto_routing_and_cache"]["total_usd"] / base, 3) if base else 0
    return out


async def main_async(
    args: argparse.Namespace, redis_url: str, sim: SimulatorHandle
) -> dict[str, Any]:
    redis = aioredis.Redis.from_url(redis_url)
    try:
        results: dict[str, Any] = {}
        print("1. map_reduce: sequential vs parallel …", flush=True)
        results["map_reduce"] = await parallel_steps(redis, sim, args.speed)
        print(json.dumps(results["map_reduce"], indent=1), flush=True)
        print(f"2. long session, {args.rounds} rounds: with and without context management …")
        results["session"] = {
            "managed": await long_session(redis, sim, args.rounds, managed=True),
            "unmanaged": await long_session(redis, sim, args.rounds, managed=False),
            "unmanaged_unlimited_window_projection": unmanaged_projection(args.rounds),
        }
        print(json.dumps(results["session"], indent=1), flush=True)
        print(f"3. cost per task, {args.tasks} tasks: all-frontier vs auto routing + cache …")
        results["cost"] = await cost_per_task(redis, sim, args.tasks)
        print(json.dumps(results["cost"], indent=1), flush=True)
        return results
    finally:
        await redis.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=40, help="long-session rounds")
    parser.add_argument("--tasks", type=int, default=60, help="tasks in the cost workload")
    parser.add_argument("--speed", type=float, default=0.5, help="simulated latency scale")
    args = parser.parse_args()
    group = ProcessGroup(log_dir=Path(tempfile.mkdtemp(prefix="aq-bench-agent-")))
    try:
        redis_url = start_redis(group)
        with running_simulator(SimulatorSettings(speed=args.speed, seed=3)) as sim:
            results = asyncio.run(main_async(args, redis_url, sim))
    finally:
        group.stop()
    print("summary:", json.dumps(results))


if __name__ == "__main__":
    main()

"""Shared budget vs the design document's per-process limiter, against binding limits.

    .venv/bin/python -m bench.limiter [--minutes 10] [--processes 1,3,6]

A private redis-server and the provider simulator run here; the simulator's Anthropic
allows ``--tpm`` tokens per "minute" of ``--minute-seconds`` seconds (shortened so that
ten provider minutes pass in a minute). For 1, 3 and 6 worker processes, each running
8 concurrent call loops through the official SDK, a workload needing ``--minutes``
minutes of budget is run twice:

- agentqueue: every call goes through the fallback chain's gate (one budget in Redis,
  reserve input + max_tokens, settle the real usage; margin 2%);
- baseline: the design document's ``TokenBucketRateLimiter`` in each process (sliding
  one-minute window of estimates, 90% buffer, configured with the provider's limit).

"steady" is the same ratio over the middle 80% of the run, against the refill alone.
Each run stops taking tasks after 1.5 times the workload's minutes (the baseline may not
finish its workload). Printed per run: goodput (tokens the provider served ÷ tokens it
allowed in that time: its full bucket plus its refill), provider 429s, and task latency
p50/p99 (from a loop picking the task to its answer: waits for budget and retries
included). Then the limiter alone: acquire latency p50/p99 at a paced 1,000 acquires/s
and the most decisions per second one client process gets.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections import deque
from pathlib import Path

import httpx
import redis
import redis.asyncio as aioredis

import agentqueue.core.ratelimit.gate as gate_module
from agentqueue.cli.processes import ProcessGroup, start_redis, wait_http
from agentqueue.core.base.errors import NoProviderAvailable, ProviderError, RateLimited
from agentqueue.core.base.ports import free_port
from agentqueue.core.base.priority import Priority
from agentqueue.core.calls.fallback import FallbackChain
from agentqueue.core.calls.registry import build_provider
from agentqueue.core.llm.catalog import load_catalog
from agentqueue.core.llm.messages import ChatMessage, CompletionRequest
from agentqueue.core.llm.providers.base import ProviderConfig
from agentqueue.core.llm.tokenizers import counter_named
from agentqueue.core.llm.tokens import estimate_request
from agentqueue.core.ratelimit.budget import BudgetLimits
from agentqueue.core.ratelimit.gate import BudgetGate, estimate_input_tokens
from agentqueue.core.ratelimit.http_budgets import HttpBudgets
from agentqueue.core.ratelimit.leases import Budgets, Charge
from agentqueue.core.ratelimit.redis_budgets import RedisBudgets

MODEL = "claude-sonnet-4-6"
BUDGET = f"anthropic:{MODEL}:default"
LOOPS_PER_PROCESS = 8


#: ``--workload cjk``: what a Japanese or Chinese team's agents send, tool results in JSON.
CJK_TEXTS = (
    "次の会議の議事録を要約し、決定事項と担当者を箇条書きにしてください。",
    "请根据以下订单数据，找出延迟发货的订单，并说明可能的原因。",  # noqa: RUF001
    "このエラーログの原因を調べて、再発防止策を三つ提案してください。",
)


def request_for(i: int, workload: str = "english") -> CompletionRequest:
    if workload == "cjk":
        record = {"id": f"ord-{i:06d}", "status": "delayed", "items": [i % 7, i % 11],
                  "note": "配送センターで保留中", "eta": f"2026-12-0{i % 9 + 1}"}  # fmt: skip
        text = f"{CJK_TEXTS[i % 3]}\n{json.dumps([record] * 24, ensure_ascii=False)}"
    else:
        text = f"Task {i}: summarise why shared rate limits beat per-process ones. " * 3
    return CompletionRequest(messages=[ChatMessage(role="user", content=text)], max_tokens=256)


def chars4_input_tokens(request: CompletionRequest, *_: object) -> int:
    """The estimate before: ``ceil(chars / 4) + 4`` a message, whatever the content."""
    texts = [m.all_text() for m in request.messages] + [request.system or ""]
    return sum(math.ceil(len(t) / 4) + 4 for t in texts if t)


class DesignDocLimiter:
    """The design document's limiter, as written, with its minute and sleep scaled."""

    def __init__(self, tpm: int, rpm: int, minute: float) -> None:
        self.tpm, self.rpm, self.minute = tpm, rpm, minute
        self.tokens: deque[tuple[float, int]] = deque()
        self.requests: deque[float] = deque()
        self.lock = asyncio.Lock()

    def _trim(self, now: float) -> None:
        while self.tokens and self.tokens[0][0] < now - self.minute:
            self.tokens.popleft()
        while self.requests and self.requests[0] < now - self.minute:
            self.requests.popleft()

    async def acquire(self, estimated: int) -> None:
        async with self.lock:
            now = time.monotonic()
            self._trim(now)
            while (
                sum(t for _, t in self.tokens) + estimated > self.tpm * 0.9
                or len(self.requests) >= self.rpm * 0.9
            ):
                await asyncio.sleep(self.minute / 60)  # the doc's 1 s, in simulated time
                now = time.monotonic()
                self._trim(now)
            self.tokens.append((now, estimated))
            self.requests.append(now)


async def worker(mode: str, args: dict[str, object]) -> dict[str, object]:
    url, sim_url = str(args["redis_url"]), str(args["simulator_url"])
    total, t0 = int(args["tasks"]), float(args["t0"])
    client = aioredis.Redis.from_url(url)
    provider = build_provider(ProviderConfig("anthropic", api_key="bench", base_url=sim_url))
    gate = BudgetGate(RedisBudgets(client), max_wait=60.0)
    if mode == "chars4":  # agentqueue's gate as it counted before: chars/4, nothing learned
        gate_module.estimate_input_tokens = chars4_input_tokens
        gate._calibrated = lambda raw, *_: raw  # type: ignore[method-assign]
    chain = FallbackChain([provider], load_catalog(), gate=gate, failure_threshold=10_000)
    doc = DesignDocLimiter(int(args["tpm"]), int(args["rpm"]), float(args["minute"]))
    latencies: list[float] = []

    deadline = t0 + float(args["seconds"])

    async def loop() -> None:
        while time.time() < deadline and (i := await client.incr("bench:next")) <= total:
            request = request_for(i, str(args["workload"]))
            picked = time.time()
            while True:
                try:
                    if mode in ("agentqueue", "chars4"):
                        await chain.complete(request, Priority.HIGH)
                    else:
                        await doc.acquire(estimate_input_tokens(request) + request.max_tokens)
                        await provider.complete(request, MODEL)
                    break
                except RateLimited as exc:  # the provider's own 429 (counted by the simulator)
                    await asyncio.sleep(exc.retry_after or 1.0)
                except NoProviderAvailable as exc:  # held back by our gate past max_wait
                    await asyncio.sleep(exc.retry_after or 1.0)
                except ProviderError:  # transient: retry, as a worker would
                    await asyncio.sleep(0.1)
            latencies.append(time.time() - picked)

    await asyncio.gather(*(loop() for _ in range(LOOPS_PER_PROCESS)))
    await chain.aclose()
    await client.aclose()
    return {"latencies": latencies}


def _process(mode: str, args: dict[str, object], out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    out.put(asyncio.run(worker(mode, args)))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def run(mode: str, processes: int, env: dict[str, object], sim: httpx.Client) -> dict[str, float]:
    r = redis.Redis.from_url(str(env["redis_url"]))
    r.flushall()
    sim.post("/_sim/reset").raise_for_status()
    if mode in ("agentqueue", "chars4"):
        limits = BudgetLimits(
            rpm=int(env["rpm"]),
            tpm=int(env["tpm"]),
            minute_seconds=float(env["minute"]),
            margin=float(env["margin"]),  # type: ignore[arg-type]
        )
        asyncio.run(_configure(str(env["redis_url"]), limits))
    args = {**env, "t0": time.time() + 1.0}
    out: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    procs = [
        multiprocessing.Process(target=_process, args=(mode, args, out)) for _ in range(processes)
    ]
    for p in procs:
        p.start()
    results = [out.get() for _ in procs]
    for p in procs:
        p.join()
    stats = sim.get("/_sim/stats").json()
    a = stats["providers"].get("anthropic", {})
    calls = [c for c in stats["calls"] if c["status"] == 200]
    start = min(c["start"] for c in calls)  # from the first call: process start-up excluded
    end = max(c["end"] for c in calls)
    minutes = (end - start) / float(env["minute"])
    served = a.get("input_tokens", 0) + a.get("output_tokens", 0)
    allowed = int(env["tpm"]) * (1 + minutes)  # the full bucket, then its refill
    latencies = [x for res in results for x in res["latencies"]]
    # Steady state: tokens of calls ending in the middle 80% of the run, against refill.
    span = end - start
    lo, hi = start + 0.1 * span, start + 0.9 * span
    middle = sum(c["input_tokens"] + c["output_tokens"] for c in calls if lo <= c["end"] < hi)
    steady = middle / (int(env["tpm"]) * (hi - lo) / float(env["minute"]))
    r.close()
    return {
        "goodput": served / allowed,
        "steady": steady,
        "served": served,
        "minutes": minutes,
        "provider_429s": a.get("rate_limited", 0),
        "p50": pct(latencies, 0.5),
        "p99": pct(latencies, 0.99),
        "tasks": len(latencies),
    }


async def _configure(url: str, limits: BudgetLimits) -> None:
    client = aioredis.Redis.from_url(url)
    await RedisBudgets(client).configure(BUDGET, limits)
    await client.aclose()


async def limiter_alone(
    url: str, rate: int, seconds: float, service_url: str | None = None
) -> tuple[list[float], float]:
    """Acquire latency at a paced ``rate``, then the unpaced maximum: directly in Redis,
    or through the limiter service when ``service_url`` is given."""
    client = aioredis.Redis.from_url(url, max_connections=256)
    await RedisBudgets(client).configure("bench:alone:default", BudgetLimits(rpm=10**9, tpm=10**12))
    budgets: Budgets = HttpBudgets(service_url) if service_url else RedisBudgets(client)
    charge = [Charge("bench:alone:default", 300, output=256)]
    latencies: list[float] = []

    async def one(record: bool) -> None:
        t = time.perf_counter()
        await budgets.acquire(charge, priority=Priority.STANDARD)
        if record:
            latencies.append(time.perf_counter() - t)

    # one unrecorded second first: connections opened, caches and the script loaded —
    # a long-running service's steady state is what is measured
    for measured, span in ((False, 1.0), (True, seconds)):
        tasks = []
        start = time.perf_counter()
        for i in range(int(rate * span)):
            await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
            tasks.append(asyncio.create_task(one(measured)))
        await asyncio.gather(*tasks)
    n, t = 5000, time.perf_counter()
    sem = asyncio.Semaphore(64)

    async def bounded() -> None:
        async with sem:
            await budgets.acquire(charge, priority=Priority.STANDARD)

    await asyncio.gather(*(bounded() for _ in range(n)))
    peak = n / (time.perf_counter() - t)
    if isinstance(budgets, HttpBudgets):
        await budgets.aclose()
    await client.aclose()
    return latencies, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--minute-seconds", type=float, default=6.0)
    parser.add_argument("--tpm", type=int, default=60_000)
    parser.add_argument("--rpm", type=int, default=100_000)
    parser.add_argument("--processes", default="1,3,6")
    parser.add_argument("--tasks", type=int, default=0, help="override the workload size")
    parser.add_argument(
        "--modes",
        default="baseline,agentqueue",
        help="baseline (the design doc's limiter), agentqueue, chars4 (agentqueue's gate "
        "counting as it did before: ceil(chars/4), nothing learned)",
    )
    parser.add_argument(
        "--workload",
        choices=("english", "cjk"),
        default="english",
        help="cjk: Japanese and Chinese requests with JSON records (the simulated Anthropic "
        "counts them with cl100k_base, about 3x chars/4)",
    )
    parser.add_argument(
        "--alone-only",
        action="store_true",
        help="measure only the limiter alone (Redis and service)",
    )
    parser.add_argument("--margin", type=float, default=0.02, help="agentqueue's safety margin")
    parser.add_argument(
        "--run-seconds",
        type=float,
        default=0,
        help="stop each run after this long (default: the workload's minutes)",
    )
    args = parser.parse_args()

    group = ProcessGroup(log_dir=Path(tempfile.mkdtemp(prefix="aq-bench-limiter-")))
    try:
        redis_url = start_redis(group)
        sim_port = free_port()
        simulator_url = f"http://127.0.0.1:{sim_port}"
        group.start_service(
            "simulator",
            "agentqueue.simulator",
            {
                "AGENTQUEUE_SIM_PORT": str(sim_port),
                "AGENTQUEUE_SIM_SPEED": "0.02",
                "AGENTQUEUE_SIM_TPM": str(args.tpm),
                "AGENTQUEUE_SIM_RPM": str(args.rpm),
                "AGENTQUEUE_SIM_MINUTE_SECONDS": str(args.minute_seconds),
            },
        )
        wait_http(f"{simulator_url}/healthz", group)
        # tokens a task really uses, about: its input as the simulated Anthropic counts it,
        # and ~70 output
        anthropic = counter_named("cl100k_base")
        per_task = 70 + statistics.mean(
            estimate_request(request_for(i, args.workload), anthropic) for i in range(1, 50)
        )
        tasks = args.tasks or int(args.tpm * args.minutes / per_task)
        seconds = args.run_seconds or args.minutes * args.minute_seconds * 1.5
        env: dict[str, object] = {
            "seconds": seconds,
            "redis_url": redis_url,
            "simulator_url": simulator_url,
            "tasks": tasks,
            "tpm": args.tpm,
            "rpm": args.rpm,
            "margin": args.margin,
            "minute": args.minute_seconds,
            "workload": args.workload,
        }
        print(
            f"workload: {tasks} {args.workload} tasks (~{per_task:.0f} tokens each), provider "
            f"{args.tpm} TPM per {args.minute_seconds:g}s "
            f"minute, {LOOPS_PER_PROCESS} loops per process\n"
        )
        print(
            f"{'limiter':<12} {'procs':>5} {'goodput':>8} {'steady':>7} {'429s':>6} "
            f"{'minutes':>8} {'p50 s':>7} {'p99 s':>7}"
        )
        with httpx.Client(base_url=simulator_url, timeout=30) as sim:
            for n in [] if args.alone_only else (int(x) for x in args.processes.split(",")):
                for mode in args.modes.split(","):
                    res = run(mode, n, env, sim)
                    print(
                        f"{mode:<12} {n:>5} {res['goodput']:>8.1%} {res['steady']:>7.1%} "
                        f"{res['provider_429s']:>6} {res['minutes']:>8.1f} "
                        f"{res['p50']:>7.1f} {res['p99']:>7.1f}",
                        flush=True,
                    )
        service_port = free_port()
        group.start_service(
            "limiter",
            "agentqueue.limiter",
            {"AGENTQUEUE_REDIS_URL": redis_url, "AGENTQUEUE_PORT": str(service_port)},
        )
        service_url = f"http://127.0.0.1:{service_port}"
        wait_http(f"{service_url}/readyz", group)
        for label, via in (("Lua in Redis", None), ("limiter service, HTTP", service_url)):
            lat, peak = asyncio.run(limiter_alone(redis_url, 1000, 5, service_url=via))
            print(
                f"\nlimiter alone ({label}, one client process): at 1,000 acquires/s "
                f"p50 {pct(lat, 0.5) * 1000:.2f} ms, p99 {pct(lat, 0.99) * 1000:.2f} ms, "
                f"mean {statistics.mean(lat) * 1000:.2f} ms; unpaced {peak:,.0f} decisions/s"
            )
    finally:
        group.stop()


if __name__ == "__main__":
    if sys.platform != "win32":
        multiprocessing.set_start_method("fork" if os.name == "posix" else "spawn", force=True)
    main()

"""Task submission through the gateway, and dispatch latency to idle workers.

    .venv/bin/python -m bench.gateway_submit [--tasks 2000] [--dispatch-samples 100]

Runs the real processes (a private redis-server, the simulator, the gateway under
uvicorn, workers) on this machine and prints:

1. submission throughput and latency p50/p99 of ``POST /v1/tasks`` at concurrency 1, 16
   and 64, against a baseline measured in the same run: the Redis work one submission
   does (write the record, enqueue the Dramatiq message) done directly, with no HTTP;
2. dispatch latency (record created → worker started it) to an idle worker, with our
   poll interval (100 ms) and with Dramatiq's default (1000 ms) as the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import httpx
import redis
import redis.asyncio as aioredis

from agentqueue.cli.stack import RunningStack, StackConfig, start_stack
from agentqueue.core.base.priority import Priority
from agentqueue.core.llm.messages import ChatMessage, CompletionRequest
from agentqueue.core.queues.broker import make_broker, task_message
from agentqueue.core.tasks.model import TaskRecord, TaskSpec
from agentqueue.core.tasks.store import TaskStore

BODY = {"messages": [{"role": "user", "content": "Say hi"}], "priority": "batch"}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def submit_run(stack: RunningStack, n: int, concurrency: int) -> tuple[float, list[float]]:
    latencies: list[float] = []
    sem = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=stack.gateway_url,
        limits=limits,
        timeout=30,
        headers={"Authorization": f"Bearer {stack.api_key}"},
    ) as c:

        async def one() -> None:
            async with sem:
                t0 = time.perf_counter()
                r = await c.post("/v1/tasks", json=BODY)
                latencies.append(time.perf_counter() - t0)
                assert r.status_code == 202, r.text

        await one()  # warm the connection
        latencies.clear()
        t0 = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(n)))
        elapsed = time.perf_counter() - t0
    return n / elapsed, latencies


async def baseline_run(redis_url: str, n: int) -> tuple[float, list[float]]:
    """The floor: the same record write + enqueue, in-process, sequential."""
    client = aioredis.Redis.from_url(redis_url)
    store = TaskStore(client)
    broker = make_broker(redis_url)
    spec = TaskSpec(
        priority=Priority.BATCH,
        input=CompletionRequest(messages=[ChatMessage(role="user", content="Say hi")]),
    )
    latencies = []
    t0 = time.perf_counter()
    for _ in range(n):
        s = time.perf_counter()
        record, _ = await store.create(TaskRecord(tenant="bench", spec=spec))
        broker.enqueue(task_message(record.id, Priority.BATCH))
        latencies.append(time.perf_counter() - s)
    elapsed = time.perf_counter() - t0
    broker.close()
    await client.aclose()
    return n / elapsed, latencies


async def dispatch_run(stack: RunningStack, samples: int) -> list[float]:
    out = []
    async with httpx.AsyncClient(
        base_url=stack.gateway_url, timeout=30, headers={"Authorization": f"Bearer {stack.api_key}"}
    ) as c:
        for _ in range(samples):
            r = await c.post("/v1/tasks", json={**BODY, "priority": "standard"})
            task_id = r.json()["id"]
            while True:
                view = (await c.get(f"/v1/tasks/{task_id}")).json()
                if view["status"] == "succeeded":
                    break
                await asyncio.sleep(0.01)
            out.append(view["started_at"] - view["created_at"])
            await asyncio.sleep(1.2)  # let the worker go idle (its poll backs off)
    return out


def row(name: str, rate: float | None, lat: list[float]) -> str:
    rate_s = f"{rate:9.0f}" if rate is not None else f"{'':9}"
    return (
        f"{name:<34} {rate_s} {pct(lat, 0.5) * 1000:9.2f} {pct(lat, 0.99) * 1000:9.2f}"
        f" {statistics.mean(lat) * 1000:9.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--dispatch-samples", type=int, default=60)
    args = parser.parse_args()
    logs = Path(tempfile.mkdtemp(prefix="aq-bench-"))
    stack = start_stack(
        StackConfig(
            reuse_redis=False, queues=(), log_dir=logs, simulator_env={"AGENTQUEUE_SIM_SPEED": "0"}
        )
    )
    try:
        print(
            f"{f'submission (n={args.tasks})':<34} {'tasks/s':>9} {'p50 ms':>9}"
            f" {'p99 ms':>9} {'mean ms':>9}"
        )
        rate, lat = asyncio.run(baseline_run(stack.redis_url, args.tasks))
        print(row("baseline: Redis only, no HTTP, c=1", rate, lat))
        for concurrency in (1, 16, 64):
            rate, lat = asyncio.run(submit_run(stack, args.tasks, concurrency))
            print(row(f"gateway POST /v1/tasks, c={concurrency}", rate, lat))
        redis.Redis.from_url(stack.redis_url).flushall()

        print(
            f"\n{'dispatch to an idle worker':<34} {'':9} {'p50 ms':>9} {'p99 ms':>9}"
            f" {'mean ms':>9}"
        )
        for label, poll in (
            ("baseline: Dramatiq default poll 1000ms", "1000"),
            ("agentqueue poll 100ms", "100"),
        ):
            worker = stack.group.start_service(
                f"worker-{poll}",
                "agentqueue.worker",
                {
                    **stack.worker_env,
                    "AGENTQUEUE_QUEUE": "standard",
                    "AGENTQUEUE_POLL_INTERVAL_MS": poll,
                },
            )
            time.sleep(2.0)
            lat = asyncio.run(dispatch_run(stack, args.dispatch_samples))
            print(row(label, None, lat))
            worker.process.terminate()
            worker.process.wait(30)
            stack.group.children.remove(worker)
    finally:
        stack.stop()


if __name__ == "__main__":
    main()

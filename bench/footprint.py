"""Redis memory per finished task: with its event log kept, and after the log expired.

    .venv/bin/python -m bench.footprint [--tasks 300] [--rate 30] [--events-ttl 60]

Starts the local stack (a private redis-server, the simulator, the limiter, the gateway,
one worker per queue) with ``AGENTQUEUE_EVENTS_TTL_AFTER_FINISH=--events-ttl``, runs the
demo's workload (``cli/demo.py``: mixed priorities, tiers and ``max_tokens``, each task
submitted with an Idempotency-Key) through the HTTP API, waits until every task is
finished, then measures Redis twice:

1. **events kept**: at once, while every task's event log (``aq:task:<id>:events``)
   still exists — what each finished task costs for as long as its log is kept (before
   ``events_ttl_after_finish``, for the record's whole TTL: 7 days);
2. **events expired**: once the logs' TTL has passed and Redis has dropped them — what
   each finished task costs for the rest of the record's TTL.

Each time: ``MEMORY USAGE <key> SAMPLES 0`` of every key, grouped by kind (the task
record, its event log, its Idempotency-Key, its cancel flag, anything else, with the
median TTL left), and the ``INFO memory`` ``used_memory`` (less the clients' buffers)
delta against a baseline taken after a warm-up (whose tasks' keys are deleted, so that
only the measured tasks are in the delta). The response
cache is off by default (``--cache`` turns it on): its entries are per request, not per
task, and expire after ``AGENTQUEUE_CACHE_TTL`` (1 h). Every provider is simulated
(``AGENTQUEUE_SIMULATE=all``), whatever keys the environment holds.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import re
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import redis
from rich.console import Console

from agentqueue.cli.demo import run_demo
from agentqueue.cli.stack import RunningStack, StackConfig, start_stack

#: Per-task keys, by kind: (label, pattern). Anything else is grouped by its shape.
KINDS = (
    ("task record  aq:task:<id>", re.compile(r"^aq:task:[^:]+$")),
    ("event log    aq:task:<id>:events", re.compile(r"^aq:task:[^:]+:events$")),
    ("cancel flag  aq:task:<id>:cancelled", re.compile(r"^aq:task:[^:]+:cancelled$")),
    ("idempotency  aq:idem:<tenant>:<hash>", re.compile(r"^aq:idem:")),
)


def shape(key: str) -> str:
    """A key with its ids and numbers replaced by ``*``, to group the others."""
    key = re.sub(r"task_[0-9A-Za-z_-]+", "<task>", key)
    return re.sub(r"[0-9a-f]{16,}|\d+", "*", key)


def kind(key: str) -> str:
    for label, pattern in KINDS:
        if pattern.match(key):
            return label
    return "other        " + shape(key)


def used_memory(client: redis.Redis) -> int:
    """``used_memory`` less the clients' buffers (which grow and shrink with traffic, not
    with what is stored), after a pause that lets Redis shrink idle clients' buffers."""
    time.sleep(3)
    info = client.info("memory")
    return int(info["used_memory"]) - int(info.get("mem_clients_normal", 0))


STATS = ("dataset.bytes", "overhead.total", "clients.normal", "lua.caches", "keys.count")


def memory_stats(client: redis.Redis) -> dict[str, float]:
    """The numeric fields of ``MEMORY STATS`` this benchmark reports."""
    raw = client.execute_command("MEMORY STATS")
    pairs = raw.items() if isinstance(raw, dict) else zip(raw[::2], raw[1::2], strict=True)
    stats = {(k.decode() if isinstance(k, bytes) else k): v for k, v in pairs}
    return {k: float(stats.get(k, 0)) for k in STATS}


def snapshot(client: redis.Redis) -> tuple[int, dict[str, tuple[int, int, int]]]:
    """Used memory and, per kind of key, (keys, bytes, median seconds left to live)."""
    used = used_memory(client)
    sizes: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    ttls: dict[str, list[int]] = defaultdict(list)
    for raw in client.scan_iter(count=1000):
        key = raw.decode()
        usage = client.memory_usage(key, samples=0)
        if usage is None:  # expired meanwhile
            continue
        entry = sizes[kind(key)]
        entry[0] += 1
        entry[1] += int(usage)
        ttls[kind(key)].append(int(client.ttl(key)))
    return used, {k: (v[0], v[1], sorted(ttls[k])[len(ttls[k]) // 2]) for k, v in sizes.items()}


def _ttl(seconds: int) -> str:
    if seconds < 0:
        return "none"
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} d"
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds} s"


def report(
    title: str, used: int, baseline: int, sizes: dict[str, tuple[int, int, int]], tasks: int
) -> None:
    per_task_keys = sum(b for k, (_, b, _) in sizes.items() if not k.startswith("other"))
    print(f"\n{title}")
    print(f"  {'kind of key':<52} {'keys':>6} {'bytes/task':>11} {'share':>6} {'TTL':>8}")
    total = sum(b for _, b, _ in sizes.values()) or 1
    for name, (count, size, ttl) in sorted(sizes.items(), key=lambda kv: -kv[1][1]):
        print(f"  {name:<52} {count:>6} {size / tasks:>11.0f} {size / total:>6.0%} {_ttl(ttl):>8}")
    print(f"  {'per-task keys (MEMORY USAGE)':<52} {'':>6} {per_task_keys / tasks:>11.0f}")
    print(f"  {'all keys (MEMORY USAGE)':<52} {'':>6} {total / tasks:>11.0f}")
    print(f"  {'used_memory delta (INFO memory, less clients)':<52} {'':>6}", end="")
    print(f" {(used - baseline) / tasks:>11.0f}")


def stats_line(now: dict[str, float], before: dict[str, float], tasks: int) -> None:
    delta = {k: (now[k] - before[k]) / tasks for k in STATS}
    print(
        "  MEMORY STATS delta per task: "
        + ", ".join(f"{k} {v:.0f}" for k, v in delta.items() if k != "keys.count")
        + f"; keys {now['keys.count'] - before['keys.count']:.0f}"
    )


def run(stack: RunningStack, tasks: int, rate: float) -> list[str]:
    quiet = Console(file=io.StringIO())
    result = asyncio.run(
        run_demo(
            stack.gateway_url,
            stack.api_key,
            simulator_url=None,
            tasks=tasks,
            rate=rate,
            console=quiet,
            outage=False,
        )
    )
    failed = [i for i, t in result.tasks.items() if t["status"] != "succeeded"]
    if failed:
        print(f"warning: {len(failed)} of {tasks} tasks did not succeed")
    return list(result.tasks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=300)
    parser.add_argument("--rate", type=float, default=30.0, help="submissions per second")
    parser.add_argument(
        "--events-ttl", type=int, default=60, help="AGENTQUEUE_EVENTS_TTL_AFTER_FINISH, s"
    )
    parser.add_argument("--cache", action="store_true", help="keep the response cache on")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument(
        "--show-record", action="store_true", help="print one finished task's record"
    )
    args = parser.parse_args()
    stack = start_stack(
        StackConfig(
            reuse_redis=False,
            worker_threads=16,
            log_dir=Path(tempfile.mkdtemp(prefix="bench-footprint-")),
            simulator_env={"AGENTQUEUE_SIM_SPEED": "0.1", "AGENTQUEUE_SIM_SEED": "7"},
            env={
                "AGENTQUEUE_SIMULATE": "all",
                "AGENTQUEUE_EVENTS_TTL_AFTER_FINISH": str(args.events_ttl),
                "AGENTQUEUE_CACHE_ENABLED": str(args.cache).lower(),
                "AGENTQUEUE_LOG_LEVEL": "WARNING",
            },
        )
    )
    client = redis.Redis.from_url(stack.redis_url)
    try:
        # warm-up: scripts loaded, budgets and counters created; then its tasks' keys go
        warm = run(stack, args.warmup, args.rate)
        for task_id in warm:
            client.delete(f"aq:task:{task_id}", f"aq:task:{task_id}:events")
            client.delete(f"aq:task:{task_id}:cancelled")
        idempotency_keys = client.keys("aq:idem:*")
        if idempotency_keys:
            client.delete(*idempotency_keys)
        baseline = used_memory(client)
        base_stats = memory_stats(client)

        started = time.monotonic()
        ids = run(stack, args.tasks, args.rate)
        took = time.monotonic() - started
        used, sizes = snapshot(client)
        logs = sum(client.exists(f"aq:task:{i}:events") for i in ids)
        print(
            f"{len(ids)} tasks finished in {took:.1f}s; events_ttl_after_finish "
            f"{args.events_ttl}s; response cache {'on' if args.cache else 'off'}"
        )
        if args.show_record and ids:
            print(f"one record ({ids[0]}):\n{client.get(f'aq:task:{ids[0]}')!r}")
        report(f"1. events kept ({logs}/{len(ids)} logs present)", used, baseline, sizes, len(ids))
        stats_line(memory_stats(client), base_stats, len(ids))

        deadline = time.monotonic() + args.events_ttl + 60
        while time.monotonic() < deadline:
            if not any(client.exists(f"aq:task:{i}:events") for i in ids):
                break
            time.sleep(2)
        logs = sum(client.exists(f"aq:task:{i}:events") for i in ids)
        records = sum(client.exists(f"aq:task:{i}") for i in ids)
        used, sizes = snapshot(client)
        report(
            f"2. events expired ({logs} logs left, {records}/{len(ids)} records kept)",
            used,
            baseline,
            sizes,
            len(ids),
        )
        stats_line(memory_stats(client), base_stats, len(ids))
    finally:
        client.close()
        stack.stop()


if __name__ == "__main__":
    main()

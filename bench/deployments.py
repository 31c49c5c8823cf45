"""One model behind three deployments vs behind one, then one of three killed mid-run.

    .venv/bin/python -m bench.deployments [--minutes 8] [--minute-seconds 6] [--loops 48]

Each deployment is a provider simulator process of its own (its own rate limits, as a
separate account or Azure resource has), reached through the official OpenAI SDK. The
call path is the one services build from a configuration file (``AGENTQUEUE_CONFIG``):
:func:`agentqueue.core.calls.factory.build_chain` — the deployments' budgets in a
private Redis, routing by headroom, a breaker per deployment, fallback across them. The
same workload (``--loops`` concurrent callers, one call at a time each, as workers do)
runs three times, in the same run:

1. ``one``: the model behind one deployment;
2. ``three``: behind three with equal limits;
3. ``three, one killed``: the same, and one deployment's simulator is SIGKILLed halfway.

Printed per run: goodput (tokens the simulators served ÷ what *one* deployment allows in
that time: its full bucket plus its refill), steady (the same over the middle 80% of the
run, against one's refill alone), provider 429s, calls answered and failed (a
call fails when no deployment answered it: nothing retries it here), call latency
p50/p99, and the share each deployment served.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import tempfile
import time
from pathlib import Path

import httpx
import redis
import redis.asyncio as aioredis
import yaml  # type: ignore[import-untyped]

from agentqueue.cli.processes import Child, ProcessGroup, start_redis, wait_http
from agentqueue.core.base.errors import AgentQueueError
from agentqueue.core.base.ports import free_port
from agentqueue.core.base.priority import Priority
from agentqueue.core.calls.factory import build_chain, configure_budgets
from agentqueue.core.llm.messages import ChatMessage, CompletionRequest, Tier
from agentqueue.core.settings import CoreSettings

MODEL = "gpt-4.1-mini"
KEY_ENV = "BENCH_DEPLOYMENT_KEY"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def request_for(i: int) -> CompletionRequest:
    text = f"Ticket {i}: the export job failed twice overnight; summarise what to check first."
    return CompletionRequest(
        messages=[ChatMessage(role="user", content=text * 3)],
        tier=Tier.EFFICIENT,
        model=MODEL,
        max_tokens=96,
        temperature=0.7,  # not cached: every call reaches a deployment
    )


def write_config(path: Path, urls: list[str], args: argparse.Namespace) -> None:
    """The configuration file a team would write: one model, one deployment per URL."""
    deployments = [
        {
            "name": f"openai-{i + 1}",
            "kind": "openai",
            "base_url": f"{url}/v1",
            "api_key": {"env": KEY_ENV},
            "region": f"region-{i + 1}",
            "models": [
                {
                    "model": MODEL,
                    "budget": {
                        "rpm": args.rpm,
                        "tpm": args.tpm,
                        "minute_seconds": args.minute_seconds,
                    },
                }
            ],
        }
        for i, url in enumerate(urls)
    ]
    config = {"deployments": deployments, "routing": {"provider_order": ["openai"]}}
    path.write_text(yaml.safe_dump(config, sort_keys=False))


async def drive(
    settings: CoreSettings,
    seconds: float,
    loops: int,
    kill: tuple[float, Child] | None,
    priority: Priority,
) -> dict[str, object]:
    """``loops`` callers for ``seconds``; SIGKILL ``kill``'s child at its time."""
    client = aioredis.Redis.from_url(settings.redis_url.get_secret_value())
    await configure_budgets(settings, client)
    chain = build_chain(settings, client, max_wait=60.0)
    latencies: list[float] = []
    failures: list[str] = []
    deadline = time.monotonic() + seconds
    counter = iter(range(10**9))

    async def loop() -> None:
        while time.monotonic() < deadline:
            started = time.monotonic()
            try:
                await chain.complete(request_for(next(counter)), priority)
            except AgentQueueError as exc:
                failures.append(type(exc).__name__)
                continue
            latencies.append(time.monotonic() - started)

    async def killer() -> None:
        if kill is None:
            return
        await asyncio.sleep(kill[0])
        os.killpg(kill[1].process.pid, signal.SIGKILL)

    await asyncio.gather(killer(), *(loop() for _ in range(loops)))
    await chain.aclose()
    await client.aclose()
    return {"latencies": latencies, "failures": failures}


def run(
    name: str,
    urls: list[str],
    sims: list[Child],
    redis_url: str,
    args: argparse.Namespace,
    workdir: Path,
    kill_index: int | None = None,
) -> dict[str, object]:
    redis.Redis.from_url(redis_url).flushall()
    for url in urls:
        httpx.post(f"{url}/_sim/reset").raise_for_status()
    config = workdir / f"{name.replace(' ', '-').replace(',', '')}.yaml"
    write_config(config, urls, args)
    os.environ["AGENTQUEUE_CONFIG"] = str(config)
    os.environ["AGENTQUEUE_REDIS_URL"] = redis_url
    settings = CoreSettings()
    seconds = args.minutes * args.minute_seconds
    kill = (seconds / 2, sims[kill_index]) if kill_index is not None else None
    out = asyncio.run(drive(settings, seconds, args.loops, kill, Priority(args.priority)))
    served, rate_limited = 0, 0
    per: list[int | None] = []
    start, end = float("inf"), 0.0
    calls: list[dict[str, float]] = []
    for i, url in enumerate(urls):
        if kill_index == i:
            per.append(None)  # its counters died with it
            continue
        stats = httpx.get(f"{url}/_sim/stats").json()
        counts = stats["providers"].get("openai", {})
        tokens = counts.get("input_tokens", 0) + counts.get("output_tokens", 0)
        served += tokens
        rate_limited += counts.get("rate_limited", 0)
        per.append(tokens)
        answered = [c for c in stats["calls"] if c["status"] == 200]
        calls += answered
        start = min([start, *(c["start"] for c in answered)])
        end = max([end, *(c["end"] for c in answered)])
    # from the first call to the last answer: start-up and drain are not the budget's
    minutes = (end - start) / args.minute_seconds
    # steady state: calls ending in the middle 80% of the run, against one's refill alone
    lo, hi = start + 0.1 * (end - start), start + 0.9 * (end - start)
    middle = sum(c["input_tokens"] + c["output_tokens"] for c in calls if lo <= c["end"] < hi)
    steady = middle / (args.tpm * (hi - lo) / args.minute_seconds)
    allowed_one = args.tpm * (1 + minutes)
    latencies: list[float] = out["latencies"]  # type: ignore[assignment]
    failures: list[str] = out["failures"]  # type: ignore[assignment]
    return {
        "name": name,
        "goodput": served / allowed_one,
        "steady": steady,
        "provider_429s": rate_limited,
        "answered": len(latencies),
        "failed": len(failures),
        "failure_kinds": sorted(set(failures)),
        "p50": pct(latencies, 0.5),
        "p99": pct(latencies, 0.99),
        "shares": ["killed" if t is None else f"{t / max(served, 1):.0%}" for t in per],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=8.0, help="provider minutes a run")
    parser.add_argument("--minute-seconds", type=float, default=6.0)
    parser.add_argument("--tpm", type=int, default=30_000, help="each deployment's TPM")
    parser.add_argument("--rpm", type=int, default=10_000, help="each deployment's RPM")
    parser.add_argument("--loops", type=int, default=48, help="concurrent callers")
    parser.add_argument("--speed", type=float, default=0.05, help="simulator latency scale")
    parser.add_argument("--priority", choices=[p.value for p in Priority], default="standard")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="aq-bench-deployments-"))
    group = ProcessGroup(log_dir=workdir)
    os.environ[KEY_ENV] = "bench-key"
    try:
        redis_url = start_redis(group)
        urls, sims = [], []
        for i in range(3):
            port = free_port()
            sims.append(
                group.start_service(
                    f"simulator-{i + 1}",
                    "agentqueue.simulator",
                    {
                        "AGENTQUEUE_SIM_PORT": str(port),
                        "AGENTQUEUE_SIM_SPEED": str(args.speed),
                        "AGENTQUEUE_SIM_TPM": str(args.tpm),
                        "AGENTQUEUE_SIM_RPM": str(args.rpm),
                        "AGENTQUEUE_SIM_MINUTE_SECONDS": str(args.minute_seconds),
                    },
                )
            )
            urls.append(f"http://127.0.0.1:{port}")
        for url in urls:
            wait_http(f"{url}/healthz", group)
        rows = [
            run("one", urls[:1], sims[:1], redis_url, args, workdir),
            run("three", urls, sims, redis_url, args, workdir),
            run("three, one killed", urls, sims, redis_url, args, workdir, kill_index=1),
        ]
    finally:
        group.stop()
    print(
        f"\n{MODEL}: each deployment {args.tpm} TPM / {args.rpm} RPM, minute = "
        f"{args.minute_seconds}s, {args.minutes} minutes a run, {args.loops} callers\n"
    )
    header = (
        f"{'deployments':<20}{'goodput (x one)':>16}{'steady':>8}{'429s':>6}{'answered':>10}"
        f"{'failed':>8}{'p50 s':>8}{'p99 s':>8}  shares"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['name']:<20}{r['goodput']:>16.2f}{r['steady']:>8.2f}{r['provider_429s']:>6}{r['answered']:>10}"
            f"{r['failed']:>8}{r['p50']:>8.2f}{r['p99']:>8.2f}  {', '.join(r['shares'])}"  # type: ignore[arg-type]
            + (f"  ({', '.join(r['failure_kinds'])})" if r["failure_kinds"] else "")  # type: ignore[arg-type]
        )


if __name__ == "__main__":
    main()

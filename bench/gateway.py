"""The streaming path's added latency and CPU: through the gateway vs the simulator directly.

    .venv/bin/python -m bench.gateway [--requests-per-client 10] [--speed 1]
                                      [--arrival staggered|burst]
                                      [--scenarios openai,anthropic,cross] [--levels 1,16,64]
                                      [--before AGENTQUEUE_PROVIDER_HTTP=httpx]

Starts a private redis-server, the provider simulator and two gateways (uvicorn, one
process each) on this machine: ``after`` as configured (same-protocol streams passed
through as the provider's bytes), ``before`` with ``AGENTQUEUE_STREAM_PASSTHROUGH=0``
(every stream parsed by the SDK and encoded again, as before the pass-through) or with
the settings ``--before`` gives instead (``NAME=VALUE``, repeatable: any change measured
against the code as configured), both on the same Redis and simulator. Then, per
scenario and concurrency (1, 16, 64), streams chat completions straight to the simulator
(the baseline, same run, same client) and through each gateway:

- ``openai``: an OpenAI Chat Completions client, ``gpt-4.1`` (same protocol);
- ``anthropic``: an Anthropic Messages client, ``claude-sonnet-4-6`` (same protocol);
- ``cross``: an OpenAI client asking for ``claude-sonnet-4-6`` (translated either way;
  its baseline is the simulated Anthropic API);
- ``cross-openai`` (not run unless named): an Anthropic client asking for ``gpt-4.1``
  (its baseline is the simulated OpenAI API).

Prints time to first token and total time, p50 and p99, what each gateway added, and
the gateway process's CPU per stream (``/proc`` via psutil, before and after the level,
less what the process spends idle over as long, measured for 5 s at the start).
The simulator's limits are raised so that nothing is rate limited; its latency is scaled
by ``--speed``: 1 (the default) is a hosted model's pace, ~400 ms to the first token and
12 ms a token (~80 tokens/s, between Sonnet's and GPT-4.1's); 0.25 is four times faster
than any of them (~100 ms, 3 ms a token: 64 streams then make 21,000 chunks a second,
and one gateway process runs at ~80% of a core, which measures its capacity rather than
the latency it adds). Each level first opens its connections (one stream per client, at
once, not counted); clients then start spread over one stream's duration (``staggered``,
the default: 64 streams in flight throughout, arriving as independent users do) or all
at the same instant (``burst``: the worst case). The client parses JSON only until the
first token, so that its own CPU weighs as little as it can on the cores it shares with
the gateway.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import psutil

from agentqueue.cli.processes import wait_http
from agentqueue.cli.stack import RunningStack, StackConfig, start_stack
from agentqueue.core.base.ports import free_port


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclass(frozen=True)
class Target:
    """Where a stream goes and in which protocol."""

    url: str
    headers: dict[str, str]
    protocol: str  # "openai" | "anthropic"
    model: str


def _body(target: Target, n: int) -> dict[str, Any]:
    return {
        "model": target.model,
        "messages": [{"role": "user", "content": f"Request {n}: say something"}],
        "max_tokens": 64,
        "stream": True,
    }


def _first_token(protocol: str, line: bytes) -> bool:
    """Whether this SSE line carries the answer's first text."""
    if not line.startswith(b"data:") or line.startswith(b"data: [DONE]"):
        return False
    data = json.loads(line[5:])
    if protocol == "openai":
        choices = data.get("choices") or [{}]
        return bool((choices[0].get("delta") or {}).get("content"))
    delta = data.get("delta") or {}
    return data.get("type") == "content_block_delta" and bool(delta.get("text"))


async def stream_once(
    session: aiohttp.ClientSession, target: Target, n: int
) -> tuple[float, float]:
    t0 = time.perf_counter()
    first = None
    async with session.post(target.url, json=_body(target, n), headers=target.headers) as r:
        assert r.status == 200, await r.text()
        async for line in r.content:
            if first is None and _first_token(target.protocol, line):
                first = time.perf_counter() - t0
    total = time.perf_counter() - t0
    return first if first is not None else total, total


async def level(
    target: Target, concurrency: int, per_client: int, arrival: str = "staggered"
) -> tuple[list[float], ...]:
    """``concurrency`` clients each streaming ``per_client`` times in a row: TTFTs, totals.

    First ``concurrency`` streams at once, not counted: the client's connections and the
    gateway's (to Redis, to the provider) are opened there, as a service running for a
    while has them open. Then ``burst``: every client starts at the same instant (the
    worst case: the last of the burst waits for every request before it on one process).
    ``staggered``: client ``c`` starts ``c / concurrency`` of one stream's duration (the
    warm-up's median) after the first, so ``concurrency`` streams are in flight
    throughout and arrive as independent users' do.
    """
    ttft: list[float] = []
    total: list[float] = []
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        warm = await asyncio.gather(
            *(stream_once(session, target, -1 - c) for c in range(concurrency))
        )
        spread = sorted(t for _, t in warm)[len(warm) // 2] if arrival == "staggered" else 0.0

        async def client(c: int) -> None:
            await asyncio.sleep(spread * c / concurrency)
            for i in range(per_client):
                f, t = await stream_once(session, target, c * 1000 + i)
                ttft.append(f)
                total.append(t)

        await asyncio.gather(*(client(c) for c in range(concurrency)))
    return ttft, total


def cpu_seconds(process: psutil.Process) -> float:
    """CPU time of the gateway process and its children (uvicorn workers)."""
    times = process.cpu_times()
    seconds = times.user + times.system
    for child in process.children(recursive=True):
        t = child.cpu_times()
        seconds += t.user + t.system
    return seconds


def idle_cpu_rates(processes: list[psutil.Process], seconds: float = 5.0) -> dict[int, float]:
    """CPU seconds per second each process spends idle (its timers: the reconciler, the
    budgets' refresh), subtracted from a level's CPU so that a stream's cost is its own."""
    before = {p.pid: cpu_seconds(p) for p in processes}
    time.sleep(seconds)
    return {p.pid: max(0.0, cpu_seconds(p) - before[p.pid]) / seconds for p in processes}


def second_gateway(stack: RunningStack, env: dict[str, str]) -> tuple[str, psutil.Process]:
    """A gateway with the first one's environment (same Redis, simulator, budgets, key)
    and ``env`` over it, on a port of its own."""
    first = next(c for c in stack.group.children if c.name == "gateway")
    inherited = psutil.Process(first.process.pid).environ()
    port = free_port()
    child = stack.group.start_service(
        "gateway-before",
        "agentqueue.gateway",
        {**inherited, **env, "AGENTQUEUE_PORT": str(port)},
    )
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/readyz", stack.group, timeout=120, what="the second gateway")
    return url, psutil.Process(child.process.pid)


#: The 'before' gateway unless ``--before`` says otherwise: every stream parsed and encoded.
PASSTHROUGH_OFF = "AGENTQUEUE_STREAM_PASSTHROUGH=0"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests-per-client", type=int, default=10)
    parser.add_argument("--speed", type=float, default=1.0)
    parser.add_argument("--levels", default="1,16,64")
    parser.add_argument("--scenarios", default="openai,anthropic,cross")
    parser.add_argument("--gateway-workers", type=int, default=1, help="gateway processes")
    parser.add_argument(
        "--arrival",
        choices=("staggered", "burst"),
        default="staggered",
        help="clients start spread over one stream's duration, or all at once",
    )
    parser.add_argument(
        "--before",
        action="append",
        metavar="NAME=VALUE",
        help=f"the 'before' gateway's settings (default: {PASSTHROUGH_OFF})",
    )
    args = parser.parse_args()
    before_env = dict(b.split("=", 1) for b in args.before or [PASSTHROUGH_OFF])
    stack = start_stack(
        StackConfig(
            reuse_redis=False,
            gateway_port=free_port(),
            simulator_port=free_port(),
            queues=(),
            log_dir=Path(tempfile.mkdtemp(prefix="bench-gateway-")),
            simulator_env={
                "AGENTQUEUE_SIM_SPEED": str(args.speed),
                "AGENTQUEUE_SIM_RPM": "10000000",
                "AGENTQUEUE_SIM_TPM": "10000000000",
            },
            env={
                "AGENTQUEUE_LOG_LEVEL": "WARNING",
                "AGENTQUEUE_WORKERS": str(args.gateway_workers),
            },
        )
    )
    try:
        after_proc = psutil.Process(
            next(c for c in stack.group.children if c.name == "gateway").process.pid
        )
        before_url, before_proc = second_gateway(stack, before_env)
        gateways = {"before": (before_url, before_proc), "after": (stack.gateway_url, after_proc)}
        idle = idle_cpu_rates([before_proc, after_proc])
        sim = stack.simulator_url
        assert sim is not None
        key = {"Authorization": f"Bearer {stack.api_key}"}
        anthropic_key = {"x-api-key": stack.api_key, "anthropic-version": "2023-06-01"}
        direct = {
            "openai": Target(
                f"{sim}/v1/chat/completions",
                {"Authorization": "Bearer sim-openai"},
                "openai",
                "gpt-4.1",
            ),
            "anthropic": Target(
                f"{sim}/v1/messages",
                {"x-api-key": "sim-anthropic", "anthropic-version": "2023-06-01"},
                "anthropic",
                "claude-sonnet-4-6",
            ),
        }
        scenarios = {
            # name: (baseline, protocol, path, headers, model)
            "openai": (direct["openai"], "openai", "/v1/chat/completions", key, "gpt-4.1"),
            "anthropic": (
                direct["anthropic"],
                "anthropic",
                "/v1/messages",
                anthropic_key,
                "claude-sonnet-4-6",
            ),
            "cross": (
                direct["anthropic"],
                "openai",
                "/v1/chat/completions",
                key,
                "claude-sonnet-4-6",
            ),
            "cross-openai": (
                direct["openai"],
                "anthropic",
                "/v1/messages",
                anthropic_key,
                "gpt-4.1",
            ),
        }
        load = os.getloadavg()
        print(
            f"streamed completions, max_tokens 64, {args.requests_per_client} per client, "
            f"simulator speed {args.speed}, {args.arrival} arrivals, "
            f"{args.gateway_workers} gateway process(es) each, "
            f"{os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
            f"before: {' '.join(f'{k}={v}' for k, v in before_env.items())}\n"
        )
        print(
            f"{'scenario':<10} {'conc':>4} {'path':<8} {'ttft p50':>9} {'ttft p99':>9} "
            f"{'total p50':>10} {'total p99':>10} {'cpu/stream':>10}   (ms)"
        )
        for name in args.scenarios.split(","):
            baseline, protocol, path, headers, model = scenarios[name]
            for url, _ in gateways.values():  # tokenizers, connections: not in the figures
                asyncio.run(level(Target(f"{url}{path}", headers, protocol, model), 4, 2, "burst"))
            for c in (int(x) for x in args.levels.split(",")):
                ttft, total = asyncio.run(
                    level(baseline, c, args.requests_per_client, args.arrival)
                )
                rows = {
                    "direct": [pct(ttft, 0.5), pct(ttft, 0.99), pct(total, 0.5), pct(total, 0.99)]
                }
                print(
                    f"{name:<10} {c:>4} {'direct':<8} "
                    + " ".join(f"{v * 1000:>9.1f}" for v in rows["direct"])
                )
                for label, (url, proc) in gateways.items():
                    target = Target(f"{url}{path}", headers, protocol, model)
                    cpu0, t0 = cpu_seconds(proc), time.monotonic()
                    ttft, total = asyncio.run(
                        level(target, c, args.requests_per_client, args.arrival)
                    )
                    busy = cpu_seconds(proc) - cpu0 - idle[proc.pid] * (time.monotonic() - t0)
                    per_stream = busy / (c * (args.requests_per_client + 1))
                    # (+1 per client: the level's warm-up streams)
                    row = [pct(ttft, 0.5), pct(ttft, 0.99), pct(total, 0.5), pct(total, 0.99)]
                    added = [g - d for g, d in zip(row, rows["direct"], strict=True)]
                    print(
                        f"{name:<10} {c:>4} {label:<8} "
                        + " ".join(f"{v * 1000:>9.1f}" for v in row)
                        + f" {per_stream * 1000:>10.2f}"
                    )
                    print(
                        f"{name:<10} {c:>4} {'+' + label:<8} "
                        + " ".join(f"{v * 1000:>9.1f}" for v in added),
                        flush=True,
                    )
        load = os.getloadavg()
        print(f"\nload average at the end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    finally:
        stack.stop()


if __name__ == "__main__":
    main()

"""The streaming path's added latency: through the gateway vs the simulator directly.

    .venv/bin/python -m bench.gateway [--requests-per-client 10] [--speed 0.25]

Starts a private redis-server, the provider simulator and the gateway (uvicorn, one
process) on this machine, then streams OpenAI-style chat completions at concurrency 1,
16 and 64, twice per level: straight to the simulator (the baseline, measured in the
same run, same client) and through the gateway's ``/v1/chat/completions`` (auth, the
limiter's usage and quota bookkeeping in Redis, the fallback chain and the official
OpenAI SDK on the way to the same simulator). Prints time to first token and total time,
p50 and p99, and what the gateway added. The simulator's limits are raised so that
nothing is rate limited; its latency is scaled by ``--speed`` (0.25: ~100 ms to the
first token, 3 ms a token).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

import aiohttp

from agentqueue.cli.stack import StackConfig, start_stack
from agentqueue.core.base.ports import free_port


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def stream_once(
    session: aiohttp.ClientSession, url: str, headers: dict[str, str], n: int
) -> tuple[float, float]:
    body = {
        "model": "gpt-4.1",
        "messages": [{"role": "user", "content": f"Request {n}: say something"}],
        "max_tokens": 64,
        "stream": True,
    }
    t0 = time.perf_counter()
    first = None
    async with session.post(url, json=body, headers=headers) as response:
        assert response.status == 200, await response.text()
        async for line in response.content:
            if not line.startswith(b"data: ") or line.startswith(b"data: [DONE]"):
                continue
            chunk = json.loads(line[6:])
            if (
                first is None
                and chunk.get("choices")
                and chunk["choices"][0]["delta"].get("content")
            ):
                first = time.perf_counter() - t0
    total = time.perf_counter() - t0
    return first if first is not None else total, total


async def level(
    url: str, headers: dict[str, str], concurrency: int, per_client: int
) -> tuple[list[float], list[float]]:
    ttft: list[float] = []
    total: list[float] = []
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        await stream_once(session, url, headers, -1)  # warm a connection

        async def client(c: int) -> None:
            for i in range(per_client):
                f, t = await stream_once(session, url, headers, c * 1000 + i)
                ttft.append(f)
                total.append(t)

        await asyncio.gather(*(client(c) for c in range(concurrency)))
    return ttft, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests-per-client", type=int, default=10)
    parser.add_argument("--speed", type=float, default=0.25)
    parser.add_argument("--levels", default="1,16,64")
    parser.add_argument("--gateway-workers", type=int, default=1, help="gateway processes")
    args = parser.parse_args()
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
        direct = (
            f"{stack.simulator_url}/v1/chat/completions",
            {"Authorization": "Bearer sim-openai"},
        )
        gateway = (
            f"{stack.gateway_url}/v1/chat/completions",
            {"Authorization": f"Bearer {stack.api_key}"},
        )
        print(
            f"streamed chat completions, {args.requests_per_client} per client, "
            f"simulator speed {args.speed}, {args.gateway_workers} gateway process(es)\n"
        )
        print(
            f"{'conc':>4} {'path':<9} {'ttft p50':>9} {'ttft p99':>9} "
            f"{'total p50':>10} {'total p99':>10}   (ms)"
        )
        for c in (int(x) for x in args.levels.split(",")):
            rows = {}
            for name, (url, headers) in (("direct", direct), ("gateway", gateway)):
                ttft, total = asyncio.run(level(url, headers, c, args.requests_per_client))
                rows[name] = [pct(ttft, 0.5), pct(ttft, 0.99), pct(total, 0.5), pct(total, 0.99)]
                print(f"{c:>4} {name:<9} " + " ".join(f"{v * 1000:>9.1f}" for v in rows[name]))
            added = [g - d for g, d in zip(rows["gateway"], rows["direct"], strict=True)]
            print(
                f"{c:>4} {'added':<9} " + " ".join(f"{v * 1000:>9.1f}" for v in added), flush=True
            )
    finally:
        stack.stop()


if __name__ == "__main__":
    main()

"""``agentqueue demo``: a mixed workload through the whole stack, watched live.

It submits a few hundred tasks over the three priorities through the HTTP API (as any
client would), takes the primary provider down for a few seconds mid-run through the
simulator's admin API (so fallback is seen working), polls until every task is terminal
and prints what happened: done/failed, throughput, latency per priority, tokens, cost
and which providers answered.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
from rich.console import Console
from rich.live import Live
from rich.table import Table

PRIORITY_MIX = (("high", 0.15), ("standard", 0.55), ("batch", 0.30))
TOPICS = (
    "rate limits",
    "circuit breakers",
    "queue depth",
    "token budgets",
    "fallback",
    "prompt caching",
    "context windows",
    "autoscaling",
    "idempotency",
    "backpressure",
)


@dataclass
class DemoReport:
    submitted: int = 0
    all_submitted: bool = False
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    elapsed_s: float = 0.0

    def by_status(self) -> Counter[str]:
        return Counter(t["status"] for t in self.tasks.values())

    @property
    def all_succeeded(self) -> bool:
        return self.submitted > 0 and self.by_status().get("succeeded", 0) == self.submitted


def _pick_priority(rng: random.Random) -> str:
    r, acc = rng.random(), 0.0
    for name, share in PRIORITY_MIX:
        acc += share
        if r < acc:
            return name
    return PRIORITY_MIX[-1][0]


def workload(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """``n`` task bodies: varied prompts, priorities and tiers, reproducible by seed."""
    rng = random.Random(seed)
    bodies = []
    for i in range(n):
        topic = rng.choice(TOPICS)
        body: dict[str, Any] = {
            "messages": [
                {
                    "role": "user",
                    "content": f"Task {i}: explain {topic} to an engineer in "
                    f"{rng.randint(2, 6)} sentences.",
                }
            ],
            "priority": _pick_priority(rng),
            "tier": "efficient" if rng.random() < 0.4 else "frontier",
            "max_tokens": rng.choice((128, 256, 512)),
            "metadata": {"demo": "true", "topic": topic},
        }
        bodies.append(body)
    return bodies


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _progress(report: DemoReport) -> Table:
    table = Table(title=f"agentqueue demo — {report.submitted} tasks submitted")
    table.add_column("priority")
    for s in ("queued", "running", "succeeded", "failed"):
        table.add_column(s, justify="right")
    for prio, _ in PRIORITY_MIX:
        counts = Counter(t["status"] for t in report.tasks.values() if t["priority"] == prio)
        table.add_row(
            prio, *(str(counts.get(s, 0)) for s in ("queued", "running", "succeeded", "failed"))
        )
    return table


def summary(report: DemoReport) -> Table:
    tasks = list(report.tasks.values())
    table = Table(title="summary", show_header=True)
    table.add_column("priority")
    table.add_column("tasks", justify="right")
    table.add_column("succeeded", justify="right")
    table.add_column("failed", justify="right")
    table.add_column("latency p50 s", justify="right")
    table.add_column("p95 s", justify="right")
    table.add_column("p99 s", justify="right")
    for prio, _ in PRIORITY_MIX:
        mine = [t for t in tasks if t["priority"] == prio]
        lat = [t["finished_at"] - t["created_at"] for t in mine if t.get("finished_at")]
        table.add_row(
            prio,
            str(len(mine)),
            str(sum(t["status"] == "succeeded" for t in mine)),
            str(sum(t["status"] == "failed" for t in mine)),
            f"{_percentile(lat, 0.5):.2f}",
            f"{_percentile(lat, 0.95):.2f}",
            f"{_percentile(lat, 0.99):.2f}",
        )
    return table


def totals(report: DemoReport) -> list[str]:
    tasks = list(report.tasks.values())
    done = [t for t in tasks if t["status"] == "succeeded"]
    inp = sum(t["usage"]["input_tokens"] for t in tasks)
    out = sum(t["usage"]["output_tokens"] for t in tasks)
    cost = sum(t["cost_usd"] for t in tasks)
    providers = Counter(t["result"]["provider"] for t in done if t.get("result"))
    models = Counter(t["result"]["model"] for t in done if t.get("result"))
    retried = sum(t["attempts"] > 1 for t in tasks)
    fell_back = sum(any(len(c["attempts"]) > 1 for c in t["calls"]) for t in tasks)
    return [
        f"done {len(done)}/{report.submitted}, failed {report.by_status().get('failed', 0)}"
        f" in {report.elapsed_s:.1f}s — {len(done) / max(report.elapsed_s, 1e-9):.1f} tasks/s",
        f"tokens: {inp:,} in, {out:,} out; cost ${cost:.4f}"
        f" (${cost / max(len(done), 1):.6f} per task)",
        "providers: " + ", ".join(f"{p} {n}" for p, n in providers.most_common()),
        "models: " + ", ".join(f"{m} {n}" for m, n in models.most_common()),
        f"tasks that fell back to another provider: {fell_back}; "
        f"retried after a transient error: {retried}",
    ]


async def _submit_all(
    client: httpx.AsyncClient, bodies: list[dict[str, Any]], report: DemoReport, rate: float
) -> None:
    """Submit at a steady ``rate`` per second, as arriving users would."""
    started = time.monotonic()

    async def submit(i: int, body: dict[str, Any]) -> None:
        await asyncio.sleep(max(0.0, started + i / rate - time.monotonic()))
        r = await client.post("/v1/tasks", json=body, headers={"Idempotency-Key": f"demo-{i}"})
        r.raise_for_status()
        data = r.json()
        report.tasks[data["id"]] = {"status": data["status"], "priority": data["priority"]}
        report.submitted += 1

    await asyncio.gather(*(submit(i, b) for i, b in enumerate(bodies)))
    report.all_submitted = True


async def _poll_until_done(
    client: httpx.AsyncClient, report: DemoReport, live: Live | None, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    sem = asyncio.Semaphore(32)

    async def refresh(task_id: str) -> None:
        async with sem:
            r = await client.get(f"/v1/tasks/{task_id}")
            r.raise_for_status()
            report.tasks[task_id] = r.json()

    while time.monotonic() < deadline:
        pending = [i for i, t in report.tasks.items() if t["status"] not in ("succeeded", "failed")]
        if not pending and report.all_submitted:
            return
        await asyncio.gather(*(refresh(i) for i in pending))
        if live is not None:
            live.update(_progress(report))
        await asyncio.sleep(0.5)
    raise TimeoutError(f"tasks still unfinished after {timeout:.0f}s")


async def _outage(
    simulator_url: str, provider: str, after: float, duration: float, console: Console
) -> None:
    await asyncio.sleep(after)
    async with httpx.AsyncClient(base_url=simulator_url) as sim:
        await sim.patch("/_sim/config", json={provider: {"outage": True}})
        console.log(f"[yellow]simulated {provider} outage for {duration:.0f}s[/yellow]")
        await asyncio.sleep(duration)
        await sim.patch("/_sim/config", json={provider: {"outage": False}})
        console.log(f"[green]{provider} back[/green]")


async def run_demo(
    gateway_url: str,
    api_key: str,
    *,
    simulator_url: str | None,
    tasks: int,
    console: Console,
    rate: float = 30.0,
    timeout: float = 600.0,
    outage: bool = True,
) -> DemoReport:
    """Submit ``tasks`` at ``rate`` per second while watching them; with ``outage``, take
    Anthropic down from the 3rd to the 7th second."""
    report = DemoReport()
    started = time.monotonic()
    headers = {"Authorization": f"Bearer {api_key}"}
    async with httpx.AsyncClient(base_url=gateway_url, headers=headers, timeout=30) as client:
        outage_task = None
        if outage and simulator_url:
            outage_task = asyncio.create_task(
                _outage(simulator_url, "anthropic", after=3.0, duration=4.0, console=console)
            )
        with Live(_progress(report), console=console, refresh_per_second=4) as live:
            await asyncio.gather(
                _submit_all(client, workload(tasks), report, rate),
                _poll_until_done(client, report, live, timeout),
            )
        report.elapsed_s = time.monotonic() - started
        if outage_task is not None:
            await outage_task
    return report


async def interactive_demo(gateway_url: str, api_key: str, console: Console) -> list[str]:
    """One streamed call through the OpenAI-compatible endpoint with the official SDK,
    then the tenant's usage of the day: lines to print."""
    import openai  # the SDK a client would use; only the demo needs it here

    client = openai.AsyncOpenAI(base_url=f"{gateway_url}/v1", api_key=api_key, max_retries=0)
    lines = []
    try:
        started = time.monotonic()
        first: float | None = None
        pieces: list[str] = []
        stream = await client.chat.completions.create(
            model="claude-sonnet-4-6",
            messages=[{"role": "user", "content": "Stream a short hello to the demo."}],
            max_tokens=40,
            stream=True,
            stream_options={"include_usage": True},
        )
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                first = first if first is not None else time.monotonic() - started
                pieces.append(chunk.choices[0].delta.content)
        text = "".join(pieces)
        lines.append(
            f"interactive (openai SDK → /v1/chat/completions, streamed): first token after "
            f"{(first or 0) * 1000:.0f} ms, {len(pieces)} chunks: {text[:70]}…"
        )
        async with httpx.AsyncClient(base_url=gateway_url, timeout=10) as http:
            usage = (
                await http.get("/v1/usage?days=1", headers={"Authorization": f"Bearer {api_key}"})
            ).json()
        today = usage["days"][0]
        calls = sum(m["calls"] for m in today["models"])
        lines.append(
            f"GET /v1/usage today for tenant {usage['tenant']!r}: {calls} calls, "
            f"${today['cost_usd']:.4f} across {len(today['models'])} models"
        )
    except (openai.APIError, httpx.HTTPError, KeyError) as exc:
        lines.append(f"[red]interactive call failed: {exc}[/red]")
    finally:
        await client.close()
    return lines

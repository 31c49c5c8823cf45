"""``agentqueue report``: what sessions cost, how that varies, and what N a day would need.

Cost per session varies tenfold between agent kinds and within one, which makes capacity
planning guesswork; this report reads what actually ran — finished task records and
session records in Redis — and prints, per agent kind, p50/p90/p99 of cost and of LLM
calls per session, then projects daily cost and the provider tokens-per-minute needed for
``--sessions-per-day N`` with the observed mix of kinds.

It also shows the whole distribution of cost per task and per session (percentiles,
maximum and a histogram: ``report_stats``), projects the day as a band rather than one
number (N x the mean, and the p50/p90/p99 day by bootstrap over the measured sessions),
and writes the histograms as a chart with ``--chart out.html|out.png`` (``report_chart``).

A *session* here is a session record (kind ``session``: every step and summary it took),
or a standalone task (a one-task session of its agent kind). Tasks that were steps of a
session are counted in their session, not again on their own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from agentqueue.cli.report_chart import ChartError, bin_label, usd, write_chart
from agentqueue.cli.report_stats import Bin, daily_band, distribution, percentile
from agentqueue.core.base.redisconn import async_redis
from agentqueue.core.sessions.models import SessionRecord
from agentqueue.core.settings import CoreSettings
from agentqueue.core.tasks.model import TaskRecord, TaskState

MINUTES_PER_DAY = 24 * 60
#: Seconds a command retries an unreachable Redis before it says so.
CLI_RETRY_SECONDS = 2.0


@dataclass(frozen=True)
class Sample:
    """One session's totals."""

    kind: str
    cost_usd: float
    calls: int
    tokens: int


@dataclass
class Observed:
    samples: list[Sample] = field(default_factory=list)
    #: Tokens (all kinds: input, output, cached) and cost by model, over every call.
    model_tokens: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    model_cost: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    prices_as_of: set[str] = field(default_factory=set)
    #: Cost of every finished task, session steps included (a task is what a worker runs).
    task_costs: list[float] = field(default_factory=list)


def observe(tasks: Iterable[TaskRecord], sessions: Iterable[SessionRecord]) -> Observed:
    out = Observed()
    for task in tasks:
        for call in task.calls:
            out.model_tokens[call.model] += call.usage.total_tokens
            out.model_cost[call.model] += float(call.cost_usd)
            if call.prices_as_of:
                out.prices_as_of.add(call.prices_as_of)
        if not task.state.terminal:
            continue
        if task.state is TaskState.CANCELLED and not task.calls:
            continue
        out.task_costs.append(float(task.cost_usd))
        if task.spec.kind == "session_step":
            continue
        out.samples.append(
            Sample(task.spec.kind, float(task.cost_usd), len(task.calls), task.usage.total_tokens)
        )
    for s in sessions:
        if s.calls:
            out.samples.append(Sample("session", float(s.cost_usd), s.calls, s.usage.total_tokens))
    return out


@dataclass(frozen=True)
class KindStats:
    kind: str
    sessions: int
    cost_p50: float
    cost_p90: float
    cost_p99: float
    cost_mean: float
    calls_p50: float
    calls_p90: float
    calls_p99: float
    tokens_mean: float


def by_kind(samples: Sequence[Sample]) -> list[KindStats]:
    groups: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        groups[s.kind].append(s)
    if len(groups) > 1:
        groups["(all)"] = list(samples)
    out = []
    for kind, group in sorted(groups.items()):
        costs = [s.cost_usd for s in group]
        calls = [float(s.calls) for s in group]
        out.append(
            KindStats(
                kind=kind,
                sessions=len(group),
                cost_p50=percentile(costs, 50),
                cost_p90=percentile(costs, 90),
                cost_p99=percentile(costs, 99),
                cost_mean=sum(costs) / len(group),
                calls_p50=percentile(calls, 50),
                calls_p90=percentile(calls, 90),
                calls_p99=percentile(calls, 99),
                tokens_mean=sum(s.tokens for s in group) / len(group),
            )
        )
    return out


@dataclass(frozen=True)
class Projection:
    sessions_per_day: int
    peak_factor: float
    daily_cost_usd: float
    #: The p90 day: every session costing the p90 (an upper planning bound).
    daily_cost_p90_usd: float
    tokens_per_day: int
    average_tpm: float
    #: Tokens per minute each model's budget must allow at the peak.
    peak_tpm_by_model: dict[str, int]
    #: The expected day (N x mean) and the p50/p90/p99 day, by bootstrap.
    daily_cost_band_usd: dict[str, float] = field(default_factory=dict)


def project(observed: Observed, sessions_per_day: int, peak_factor: float) -> Projection:
    samples = observed.samples
    n = len(samples)
    mean_cost = sum(s.cost_usd for s in samples) / n if n else 0.0
    mean_tokens = sum(s.tokens for s in samples) / n if n else 0.0
    per_day = mean_tokens * sessions_per_day
    total_model_tokens = sum(observed.model_tokens.values()) or 1
    peak = {
        model: math.ceil(per_day * tokens / total_model_tokens / MINUTES_PER_DAY * peak_factor)
        for model, tokens in sorted(observed.model_tokens.items())
    }
    return Projection(
        sessions_per_day=sessions_per_day,
        peak_factor=peak_factor,
        daily_cost_usd=round(mean_cost * sessions_per_day, 4),
        daily_cost_p90_usd=round(
            percentile([s.cost_usd for s in samples], 90) * sessions_per_day, 4
        ),
        tokens_per_day=round(per_day),
        average_tpm=round(per_day / MINUTES_PER_DAY, 1),
        peak_tpm_by_model=peak,
        daily_cost_band_usd=asdict(daily_band([s.cost_usd for s in samples], sessions_per_day)),
    )


async def load(redis: aioredis.Redis) -> tuple[list[TaskRecord], list[SessionRecord]]:
    """Every task record and session record in Redis."""
    tasks: list[TaskRecord] = []
    sessions: list[SessionRecord] = []
    # ``aq:task:*`` also matches each task's event stream (``aq:task:<id>:events``) and
    # cancel flag (``aq:task:<id>:cancelled``): a record is ``aq:task:<id>``, a string.
    async for key in redis.scan_iter(match="aq:task:*", count=1000, _type="string"):
        name = key.decode() if isinstance(key, bytes) else str(key)
        if name.count(":") != 2:
            continue
        raw = await redis.get(name)
        if raw is not None:
            tasks.append(TaskRecord.model_validate_json(raw))
    async for key in redis.scan_iter(match="aq:session:*", count=1000, _type="string"):
        name = key.decode() if isinstance(key, bytes) else str(key)
        if name.count(":") != 2:  # the session's lists, not its record
            continue
        raw = await redis.get(name)
        if raw is not None:
            sessions.append(SessionRecord.model_validate_json(raw))
    return tasks, sessions


def report(
    observed: Observed, sessions_per_day: int, peak_factor: float, *, bins: int = 12
) -> dict[str, Any]:
    return {
        "sessions_observed": len(observed.samples),
        "distribution": {
            "task": asdict(distribution(observed.task_costs, bins)),
            "session": asdict(distribution([s.cost_usd for s in observed.samples], bins)),
        },
        "prices_as_of": sorted(observed.prices_as_of),
        "by_kind": [asdict(k) for k in by_kind(observed.samples)],
        "cost_by_model_usd": {m: round(c, 6) for m, c in sorted(observed.model_cost.items())},
        "projection": asdict(project(observed, sessions_per_day, peak_factor)),
    }


def render(data: dict[str, Any], console: Console) -> None:
    table = Table(title=f"Cost and calls per session ({data['sessions_observed']} observed)")
    for column in ("kind", "sessions", "cost p50", "p90", "p99", "mean", "calls p50", "p90", "p99"):
        table.add_column(column, justify="left" if column == "kind" else "right", no_wrap=True)
    for k in data["by_kind"]:
        table.add_row(
            k["kind"],
            str(k["sessions"]),
            *(f"${k[f'cost_{p}']:.5f}" for p in ("p50", "p90", "p99", "mean")),
            *(f"{k[f'calls_{p}']:.0f}" for p in ("p50", "p90", "p99")),
        )
    console.print(table)
    for name, dist in data.get("distribution", {}).items():
        console.print(histogram_table(name, dist))
    p = data["projection"]
    console.print(
        f"At {p['sessions_per_day']:,} sessions a day with this mix: "
        f"[bold]${p['daily_cost_usd']:,.2f}[/bold] a day "
        f"(p90 day ${p['daily_cost_p90_usd']:,.2f}), "
        f"{p['tokens_per_day']:,} tokens a day, {p['average_tpm']:,.0f} tokens/min on average."
    )
    band = p.get("daily_cost_band_usd")
    if band and band["resamples"]:
        console.print(
            f"A day of {band['sessions_per_day']:,} sessions, by bootstrap over the "
            f"{data['sessions_observed']} measured ({band['resamples']} resamples): "
            f"p50 ${band['p50']:,.2f}, [bold]p90 ${band['p90']:,.2f}[/bold], "
            f"p99 ${band['p99']:,.2f}."
        )
    if p["peak_tpm_by_model"]:
        peak = Table(title=f"Provider TPM needed at peak ({p['peak_factor']}x the average)")
        peak.add_column("model")
        peak.add_column("tokens/min", justify="right")
        for model, tpm in p["peak_tpm_by_model"].items():
            peak.add_row(model, f"{tpm:,}")
        console.print(peak)
    if data["prices_as_of"]:
        console.print(f"prices as of {', '.join(data['prices_as_of'])}")


#: Characters of the longest bar in a terminal histogram.
BAR_WIDTH = 40


def histogram_table(name: str, dist: dict[str, Any]) -> Group:
    """A distribution: its percentiles on a line, then a bar per bin."""
    scale = " (log bins)" if dist["log_bins"] else ""
    title = Text.assemble(
        (f"Cost per {name}: {dist['count']} observed", "bold"),
        f", mean {usd(dist['mean'])}, p50 {usd(dist['p50'])}, p90 {usd(dist['p90'])}, "
        f"p99 {usd(dist['p99'])}, max {usd(dist['max'])}{scale}",
    )
    table = Table(box=None, show_header=False)
    table.add_column("cost", justify="right", no_wrap=True)
    table.add_column("count", justify="right", no_wrap=True)
    table.add_column("", no_wrap=True)
    top = max((b["count"] for b in dist["bins"]), default=0) or 1
    for raw in dist["bins"]:
        b = Bin(**raw)
        bar = "█" * math.ceil(BAR_WIDTH * b.count / top) if b.count else ""
        table.add_row(bin_label(b), str(b.count), Text(bar, style="cyan"))
    return Group(title, table)


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "report", help="cost and calls per session by agent kind; daily cost and TPM for N/day"
    )
    parser.add_argument(
        "--sessions-per-day", type=int, default=10_000, help="sessions a day to project for"
    )
    parser.add_argument(
        "--peak-factor",
        type=float,
        default=3.0,
        help="peak minute over the day's average minute (default 3)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument(
        "--chart",
        type=Path,
        metavar="OUT.html|OUT.png",
        help="also write the histograms and the projection as a chart: HTML (inline SVG, "
        "self-contained) or PNG (needs the 'charts' extra: matplotlib)",
    )
    parser.add_argument("--bins", type=int, default=12, help="bars per histogram (default 12)")


async def _run(args: argparse.Namespace) -> dict[str, Any]:
    redis = async_redis(CoreSettings(), max_connections=2, retry_seconds=CLI_RETRY_SECONDS)
    try:
        tasks, sessions = await load(redis)
    finally:
        await redis.aclose()
    return report(observe(tasks, sessions), args.sessions_per_day, args.peak_factor, bins=args.bins)


def run(args: argparse.Namespace) -> int:
    data = asyncio.run(_run(args))
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        render(data, Console())
    if args.chart is not None:
        try:
            what = write_chart(args.chart, data)
        except (ChartError, OSError) as exc:
            print(f"agentqueue report: {exc}", file=sys.stderr)
            return 2
        print(f"wrote {args.chart} ({what})", file=sys.stderr)
    return 0 if data["sessions_observed"] else 1


__all__ = ["add_parser", "observe", "percentile", "project", "report", "run"]

"""``agentqueue top``: a live terminal view of queues, budgets, spend, fallbacks and failures.

Why: when tasks pile up, the operator's questions — which queue, since when, is a budget
empty, is a provider answering 429, who is spending, what is failing — each have their
answer in another place (broker keys, budget hashes, the usage ledger, task records,
process metrics). This puts them on one screen, refreshed every second, read from a
Redis (``--redis-url``, default the settings' ``AGENTQUEUE_REDIS_URL``: a local stack)
or from a gateway's metrics (``--gateway URL``, with ``--admin-key`` or
``AGENTQUEUE_ADMIN_KEY``: a cluster). ``--once`` prints one frame and exits (scripts,
tests); otherwise ``q`` or Ctrl-C quits.

The sources are :class:`agentqueue.core.tasks.overview.RedisOverview` and
:class:`agentqueue.cli.top_gateway.GatewayOverview`; this module only draws.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import select
import sys
import termios
import time
import tty
from collections.abc import Callable, Iterator
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

import httpx
from redis.exceptions import RedisError
from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from agentqueue.cli.top_gateway import GatewayOverview, ScrapeError
from agentqueue.core.base.redisconn import async_redis
from agentqueue.core.settings import CoreSettings
from agentqueue.core.tasks.overview import DEFAULT_FAILURES, Overview, RedisOverview

#: Seconds between two frames.
DEFAULT_INTERVAL = 1.0
#: Seconds a frame's read retries an unreachable Redis before it shows the error.
READ_RETRY_SECONDS = 1.0
#: Budgets listed, emptiest first.
DEFAULT_BUDGET_ROWS = 8
#: What a frame shows for a value its source cannot know.
UNKNOWN = "-"
#: What a frame's read may fail with (shown in the frame; the view goes on).
READ_ERRORS = (RedisError, httpx.HTTPError, ScrapeError)
#: Environment variable holding the gateway's admin key.
ADMIN_KEY_ENV = "AGENTQUEUE_ADMIN_KEY"


class Source(Protocol):
    async def read(self) -> Overview: ...

    async def aclose(self) -> None: ...


class _RedisSource:
    """A :class:`RedisOverview` with the client it owns."""

    def __init__(self, url: str | None, failures: int) -> None:
        settings = CoreSettings()
        target: str | CoreSettings = url if url else settings
        shown = url or settings.redis_url.get_secret_value()
        self.redis = async_redis(target, max_connections=4, retry_seconds=READ_RETRY_SECONDS)
        self.overview = RedisOverview(self.redis, source=redacted(shown), failures=failures)

    async def read(self) -> Overview:
        return await self.overview.read()

    async def aclose(self) -> None:
        await self.redis.aclose()


def redacted(url: str) -> str:
    """``url`` without its password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username or ''}:***@{parts.hostname or ''}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def make_source(args: argparse.Namespace) -> Source:
    if args.gateway:
        key = args.admin_key or os.environ.get(ADMIN_KEY_ENV) or None
        return GatewayOverview(args.gateway, key, others=args.metrics)
    return _RedisSource(args.redis_url, args.failures)


# ---------------------------------------------------------------- drawing


def _n(value: float | None, fmt: str = "{:,.0f}") -> str:
    return UNKNOWN if value is None else fmt.format(value)


def _age(seconds: float | None) -> str:
    if seconds is None:
        return UNKNOWN
    if seconds < 120:
        return f"{seconds:.1f}s"
    if seconds < 7200:
        return f"{seconds / 60:.1f}m"
    return f"{seconds / 3600:.1f}h"


def _bar(fraction: float, width: int = 12) -> Text:
    filled = round(fraction * width)
    style = "green" if fraction > 0.5 else "yellow" if fraction > 0.15 else "red"
    return Text("█" * filled, style=style) + Text("·" * (width - filled), style="dim")


def queues_panel(ov: Overview) -> Panel:
    table = Table(box=None, pad_edge=False)
    for col in ("queue", "depth", "oldest", "done/s", "replicas", "delayed", "dead"):
        table.add_column(col, justify="left" if col == "queue" else "right", no_wrap=True)
    for q in ov.queues:
        table.add_row(
            q.name,
            Text(f"{q.depth:,}", style="bold yellow" if q.depth else ""),
            _age(q.oldest_age_s),
            _n(q.rate_per_s, "{:.2f}"),
            _n(q.replicas),
            _n(q.delayed),
            Text(_n(q.dead), style="red" if q.dead else ""),
        )
    if not ov.queues:
        table.add_row("(no queue)", "", "", "", "", "", "")
    return Panel(table, title="queues", title_align="left")


def budgets_panel(ov: Overview, limit: int = DEFAULT_BUDGET_ROWS) -> Panel:
    """The ``limit`` emptiest budgets first (a stack on the simulator has dozens at full
    capacity), and how many more there are."""
    table = Table(box=None, pad_edge=False)
    for col in ("provider", "model", "deployment", "tokens", "", "requests", "denials", "429s"):
        left = col in ("provider", "model", "deployment", "")
        table.add_column(col, justify="left" if left else "right", no_wrap=True)
    emptiest = sorted(ov.budgets, key=lambda b: (b.fraction, b.name))
    for b in emptiest[:limit]:
        requests = (
            f"{b.available_requests:,.0f}/{b.capacity_requests:,.0f}"
            if b.available_requests is not None and b.capacity_requests is not None
            else UNKNOWN
        )
        table.add_row(
            b.provider,
            b.model,
            b.deployment,
            f"{b.available_tokens:,.0f}/{b.capacity_tokens:,.0f}",
            _bar(b.fraction),
            requests,
            _n(b.denials),
            Text(_n(b.provider_429s), style="red" if b.provider_429s else ""),
        )
    if not ov.budgets:
        table.add_row("(no budget configured)", "", "", "", "", "", "", "")
    if len(emptiest) > limit:
        rest = emptiest[limit:]
        full = sum(1 for b in rest if b.fraction >= 1.0)
        table.add_row(Text(f"… {len(rest)} more ({full} full)", style="dim"), *[""] * 7)
    return Panel(table, title="budgets (available/capacity)", title_align="left")


def spend_panel(ov: Overview) -> Panel:
    table = Table(box=None, pad_edge=False)
    table.add_column("tenant", no_wrap=True)
    table.add_column("USD", justify="right", no_wrap=True)
    for tenant, usd in sorted(ov.spend.items(), key=lambda kv: -kv[1]):
        table.add_row(tenant, f"${usd:,.4f}")
    table.add_row(Text("total", style="bold"), Text(f"${ov.spend_total:,.4f}", style="bold"))
    return Panel(table, title=f"spend {ov.spend_scope}", title_align="left")


def failures_panel(ov: Overview) -> Panel:
    parts: list[RenderableType] = []
    if ov.fallbacks is None:
        parts.append(Text(f"fallbacks: {UNKNOWN}", style="dim"))
    else:
        total = sum(ov.fallbacks.values())
        detail = ", ".join(f"{k} {v:,.0f}" for k, v in sorted(ov.fallbacks.items()) if v)
        parts.append(Text(f"fallbacks: {total:,.0f}" + (f"  ({detail})" if detail else "")))
    if ov.failed_by_kind is not None:
        counts = ", ".join(f"{k} {v:,.0f}" for k, v in sorted(ov.failed_by_kind.items()))
        parts.append(Text(f"failed: {sum(ov.failed_by_kind.values()):,.0f}  {counts}".rstrip()))
    if ov.failures is not None:
        table = Table(box=None, pad_edge=False)
        for col in ("failed task", "kind", "error", "when (UTC)"):
            table.add_column(col, no_wrap=True)
        for f in ov.failures:
            when = dt.datetime.fromtimestamp(f.at, dt.UTC).strftime("%H:%M:%S")
            table.add_row(
                f.task_id,
                f.kind,
                Text(f.error_type, style="red"),
                f"{when} ({_age(ov.taken_at - f.at)} ago)",
            )
        if not ov.failures:
            table.add_row("(none)", "", "", "")
        parts.append(table)
    return Panel(Group(*parts), title="fallbacks and recent failures", title_align="left")


def render(
    ov: Overview, *, live: bool = False, budget_rows: int = DEFAULT_BUDGET_ROWS
) -> RenderableType:
    """One frame: the four panels, then where it was read from and what it cannot show."""
    when = dt.datetime.fromtimestamp(ov.taken_at, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    header = Text.assemble(
        ("agentqueue top", "bold"),
        f"  {ov.source}  {when}",
        ("   q quits" if live else "", "dim"),
    )
    notes = [Text(note, style="dim") for note in ov.notes]
    bottom = Table.grid(expand=True)
    bottom.add_column(ratio=1)
    bottom.add_column(ratio=2)
    bottom.add_row(spend_panel(ov), failures_panel(ov))
    return Group(header, queues_panel(ov), budgets_panel(ov, budget_rows), bottom, *notes)


def error_frame(source: str, exc: BaseException) -> RenderableType:
    return Group(
        Text.assemble(("agentqueue top", "bold"), f"  {source}"),
        Panel(Text(f"cannot read: {exc}", style="red"), title="error", title_align="left"),
    )


# ---------------------------------------------------------------- the loop


@contextlib.contextmanager
def keypresses() -> Iterator[Callable[[float], bool]]:
    """``wait(seconds)`` → True when ``q`` was pressed within them. The terminal is put in
    cbreak mode (keys without Enter; Ctrl-C still interrupts) and restored on exit; with no
    terminal on stdin, ``wait`` only sleeps."""
    fd = sys.stdin.fileno() if sys.stdin and sys.stdin.isatty() else None
    if fd is None:

        def sleep(seconds: float) -> bool:
            time.sleep(seconds)
            return False

        yield sleep
        return
    saved = termios.tcgetattr(fd)
    tty.setcbreak(fd)

    def wait(seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([fd], [], [], left)
            if ready and b"q" in os.read(fd, 64).lower():
                return True
        return False

    try:
        yield wait
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _read(runner: asyncio.Runner, source: Source) -> Overview:
    return runner.run(source.read())


def run(args: argparse.Namespace) -> int:
    from rich.live import Live

    console = Console()
    source = make_source(args)
    name = args.gateway or redacted(args.redis_url or CoreSettings().redis_url.get_secret_value())
    with asyncio.Runner() as runner:
        try:
            if args.once:
                try:
                    console.print(render(_read(runner, source), budget_rows=args.budgets))
                except READ_ERRORS as exc:
                    console.print(error_frame(name, exc))
                    return 1
                return 0
            with (
                keypresses() as pressed,
                Live(console=console, screen=True, auto_refresh=False) as live,
            ):
                while True:
                    try:
                        frame = render(_read(runner, source), live=True, budget_rows=args.budgets)
                    except READ_ERRORS as exc:
                        frame = error_frame(name, exc)
                    live.update(frame, refresh=True)
                    if pressed(args.interval):
                        break
        except KeyboardInterrupt:
            pass
        finally:
            runner.run(source.aclose())
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "top",
        help="live view of queues, budgets, spend, fallbacks and failures (q quits)",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--redis-url", help="read this Redis (default: the settings' AGENTQUEUE_REDIS_URL)"
    )
    where.add_argument("--gateway", metavar="URL", help="read this gateway's /metrics instead")
    parser.add_argument(
        "--metrics",
        action="append",
        default=[],
        metavar="URL",
        help="with --gateway: another process's /metrics to add (the limiter's for budgets, "
        "a worker's for task counts and costs); repeatable",
    )
    parser.add_argument(
        "--admin-key",
        help=f"the gateway's admin key, sent as a bearer token (default: ${ADMIN_KEY_ENV})",
    )
    parser.add_argument(
        "--interval", type=float, default=DEFAULT_INTERVAL, help="seconds between frames (1)"
    )
    parser.add_argument(
        "--failures",
        type=int,
        default=DEFAULT_FAILURES,
        help=f"recent failed tasks listed (default {DEFAULT_FAILURES})",
    )
    parser.add_argument(
        "--budgets",
        type=int,
        default=DEFAULT_BUDGET_ROWS,
        help=f"budgets listed, emptiest first (default {DEFAULT_BUDGET_ROWS})",
    )
    parser.add_argument("--once", action="store_true", help="print one frame and exit")


__all__ = ["add_parser", "render", "run"]

"""The ``agentqueue`` command: run the local stack, or the demo on it."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from pydantic import ValidationError
from pydantic_settings import SettingsError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rich.console import Console

from agentqueue import __version__
from agentqueue.cli import config, keys, report, top
from agentqueue.cli.demo import interactive_demo, run_demo, summary, totals
from agentqueue.cli.processes import StackError
from agentqueue.cli.stack import DEFAULT_READY_TIMEOUT, StackConfig, start_stack
from agentqueue.core.config.errors import ConfigError
from agentqueue.core.settings import CoreSettings, settings_error

#: The demo's simulator: half a real model's latency, deterministic faults.
DEMO_SIMULATOR_ENV = {"AGENTQUEUE_SIM_SPEED": "0.5", "AGENTQUEUE_SIM_SEED": "7"}
#: Short breaker cool-down so the demo shows the primary coming back after its outage;
#: every provider simulated, whatever keys the shell exports (the demo never spends).
DEMO_ENV = {
    "AGENTQUEUE_BREAKER_COOLDOWN": "3",
    "AGENTQUEUE_RETRY_BACKOFF": "0.5",
    "AGENTQUEUE_SIMULATE": "all",
}


def _progress(console: Console) -> Callable[[str], None]:
    def say(line: str) -> None:
        style = "bold yellow" if line.startswith(("NOTICE", "AGENTQUEUE_")) else "dim"
        console.print(line, style=style, markup=False, highlight=False)

    return say


def _up(args: argparse.Namespace) -> int:
    console = Console(stderr=True)
    try:
        stack = start_stack(
            StackConfig(
                gateway_port=args.port,
                worker_threads=args.threads,
                redis_url=args.redis_url,
                ready_timeout=args.ready_timeout,
                progress=_progress(console),
            )
        )
    except StackError as exc:
        console.print(f"[red]agentqueue up: {exc}[/red]")
        return 1
    providers = ", ".join(
        f"{p.name}{' (simulated)' if p.simulated else ''}" for p in stack.providers
    )
    redis_note = (
        "private, stops with the stack"
        if stack.private_redis
        else "[bold yellow]EXISTING, shared with whatever else uses it[/bold yellow]"
    )
    console.print(
        f"[bold green]agentqueue is up[/bold green]\n"
        f"  gateway    {stack.gateway_url}  (docs: {stack.gateway_url}/docs)\n"
        f"  API key    {stack.api_key}\n"
        f"  providers  {providers}\n"
        f"  simulator  {stack.simulator_url or 'not running (no provider simulated)'}\n"
        f"  OpenAI SDK    OpenAI(base_url='{stack.gateway_url}/v1', api_key=<API key>)\n"
        f"  Anthropic SDK Anthropic(base_url='{stack.gateway_url}', api_key=<API key>)\n"
        f"  redis      {stack.redis_url}  ({redis_note})\n"
        f"try: curl -s -H 'Authorization: Bearer {stack.api_key}' "
        f"-H 'content-type: application/json' "
        f'-d \'{{"messages":[{{"role":"user","content":"Say hi"}}]}}\' '
        f"{stack.gateway_url}/v1/tasks\n"
        "Ctrl-C stops everything."
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(1.0):
            stack.group.check_alive()
    except KeyboardInterrupt:
        pass
    except StackError as exc:
        console.print(f"[red]{exc}[/red]")
        return 1
    finally:
        console.print("stopping…")
        stack.stop()
    return 0


def _demo(args: argparse.Namespace) -> int:
    console = Console()
    log_dir = Path(tempfile.mkdtemp(prefix="agentqueue-demo-"))
    console.print(f"starting the local stack (logs in {log_dir}) …")
    try:
        stack = start_stack(
            StackConfig(
                reuse_redis=False,
                worker_threads=args.threads,
                log_dir=log_dir,
                simulator_env=DEMO_SIMULATOR_ENV,
                env=DEMO_ENV,
                ready_timeout=args.ready_timeout,
                progress=_progress(console),
            )
        )
    except StackError as exc:
        console.print(f"[red]agentqueue demo: {exc}[/red]")
        return 1
    try:
        report = asyncio.run(
            run_demo(
                stack.gateway_url,
                stack.api_key,
                simulator_url=stack.simulator_url,
                tasks=args.tasks,
                rate=args.rate,
                console=console,
                outage=not args.no_outage,
            )
        )
        interactive = asyncio.run(interactive_demo(stack.gateway_url, stack.api_key, console))
    except KeyboardInterrupt:
        return 130
    finally:
        stack.stop()
    console.print(summary(report))
    for line in [*totals(report), *interactive]:
        console.print(line)
    ok = report.all_succeeded
    console.print(
        "[bold green]every task succeeded[/bold green]"
        if ok
        else "[bold red]some tasks did not succeed[/bold red]"
    )
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="agentqueue", description=__doc__)
    parser.add_argument("--version", action="version", version=f"agentqueue {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="run the whole stack locally until Ctrl-C")
    up.add_argument("--port", type=int, default=8080, help="gateway port (default 8080)")
    up.add_argument("--threads", type=int, default=8, help="threads per worker process")
    up.add_argument(
        "--redis-url",
        help="use this existing Redis, shared with whatever else uses it "
        "(default: a private redis-server on a free port, stopped with the stack)",
    )
    demo = sub.add_parser("demo", help="start the stack, run a mixed workload, summarise")
    for command in (up, demo):
        command.add_argument(
            "--ready-timeout",
            type=float,
            default=DEFAULT_READY_TIMEOUT,
            help=f"seconds the stack may take to start (default {DEFAULT_READY_TIMEOUT:.0f})",
        )
    demo.add_argument("--tasks", type=int, default=300, help="tasks to submit (default 300)")
    demo.add_argument(
        "--rate", type=float, default=30.0, help="tasks submitted per second (default 30)"
    )
    demo.add_argument("--threads", type=int, default=16, help="threads per worker process")
    demo.add_argument(
        "--no-outage", action="store_true", help="do not simulate a primary-provider outage mid-run"
    )
    keys.add_parser(sub)
    report.add_parser(sub)
    top.add_parser(sub)
    config.add_parser(sub)
    args = parser.parse_args(argv)
    handlers = {
        "up": _up,
        "demo": _demo,
        "keys": keys.run,
        "report": report.run,
        "top": top.run,
        "config": config.run,
    }
    try:
        return handlers[args.command](args)
    except (ValidationError, SettingsError) as exc:
        line = settings_error(exc) if isinstance(exc, ValidationError) else str(exc)
        print(f"agentqueue: {line}", file=sys.stderr)
        return 2
    except ConfigError as exc:  # one line naming the file and the path, never a value
        print(f"agentqueue: {exc}", file=sys.stderr)
        return 2
    except RedisError as exc:
        print(f"agentqueue: {redis_error(exc)}", file=sys.stderr)
        return 1


def _redacted(url: str) -> str:
    """``url`` without its password (the user name stays: it says which account)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def redis_error(exc: RedisError) -> str:
    """A Redis failure as one line: where, and why in the system's words — never the
    password of the URL."""
    try:
        secret = CoreSettings().redis_url.get_secret_value()
    except (ValidationError, SettingsError, ConfigError):
        secret = ""
    cause: BaseException | None = exc
    reason = ""
    while cause is not None:
        if isinstance(cause, OSError) and cause.errno:
            reason = os.strerror(cause.errno)
            break
        cause = cause.__cause__ or cause.__context__
    if not reason:
        reason = str(exc) or type(exc).__name__
    password = urlsplit(secret).password
    if password:
        reason = reason.replace(password, "***")
    if isinstance(exc, RedisConnectionError | RedisTimeoutError):
        return f"cannot reach Redis at {_redacted(secret)}: {reason}"
    return f"Redis at {_redacted(secret)} failed: {reason}"


if __name__ == "__main__":
    sys.exit(main())

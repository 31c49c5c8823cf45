"""The ``agentqueue`` command: run the local stack, or the demo on it."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import tempfile
import threading
from pathlib import Path

from rich.console import Console

from agentqueue import __version__
from agentqueue.cli import keys, report
from agentqueue.cli.demo import interactive_demo, run_demo, summary, totals
from agentqueue.cli.processes import StackError
from agentqueue.cli.stack import StackConfig, start_stack

#: The demo's simulator: half a real model's latency, deterministic faults.
DEMO_SIMULATOR_ENV = {"AGENTQUEUE_SIM_SPEED": "0.5", "AGENTQUEUE_SIM_SEED": "7"}
#: Short breaker cool-down so the demo shows the primary coming back after its outage.
DEMO_ENV = {"AGENTQUEUE_BREAKER_COOLDOWN": "3", "AGENTQUEUE_RETRY_BACKOFF": "0.5"}


def _up(args: argparse.Namespace) -> int:
    console = Console(stderr=True)
    try:
        stack = start_stack(StackConfig(gateway_port=args.port, worker_threads=args.threads))
    except StackError as exc:
        console.print(f"[red]agentqueue up: {exc}[/red]")
        return 1
    console.print(
        f"[bold green]agentqueue is up[/bold green]\n"
        f"  gateway    {stack.gateway_url}  (docs: {stack.gateway_url}/docs)\n"
        f"  API key    {stack.api_key}\n"
        f"  simulator  {stack.simulator_url}\n"
        f"  OpenAI SDK    OpenAI(base_url='{stack.gateway_url}/v1', api_key=<API key>)\n"
        f"  Anthropic SDK Anthropic(base_url='{stack.gateway_url}', api_key=<API key>)\n"
        f"  redis      {stack.redis_url}\n"
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
    demo = sub.add_parser("demo", help="start the stack, run a mixed workload, summarise")
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
    args = parser.parse_args(argv)
    handlers = {"up": _up, "demo": _demo, "keys": keys.run, "report": report.run}
    return handlers[args.command](args)


if __name__ == "__main__":
    sys.exit(main())

"""Run the design document's scenario through agentqueue and through the document's own
architecture, in the same run, and print the table side by side.

    .venv/bin/python -m bench.scenario                 # about 12 minutes on 2 cores
    .venv/bin/python -m bench.scenario --sessions 100  # a quick look, about 3 minutes

See ``bench/scenario/__init__.py`` for the workload, the providers' limits and how each
figure is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import tempfile
import time
from pathlib import Path

import httpx
import psutil

from agentqueue.cli.stack import RunningStack, StackConfig, start_stack
from agentqueue.core.base.ports import free_port
from bench.scenario import agentqueue_run, designdoc_run
from bench.scenario.designdoc import PROVIDER_CONFIGS
from bench.scenario.limits import TIERS, budgets, simulator_config
from bench.scenario.report import table
from bench.scenario.workload import build


def _models() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for chain in PROVIDER_CONFIGS.values():
        for provider, model in chain:
            out.setdefault(provider, []).append(model)
    return out


def start(args: argparse.Namespace) -> RunningStack:
    return start_stack(
        StackConfig(
            reuse_redis=False,
            gateway_port=free_port(),
            interactive_port=None if args.shared_gateway else free_port(),
            simulator_port=free_port(),
            worker_threads=args.threads,
            log_dir=Path(tempfile.mkdtemp(prefix="bench-scenario-")),
            simulator_env={"AGENTQUEUE_SIM_SPEED": str(args.speed)},
            env={
                "AGENTQUEUE_LOG_LEVEL": "WARNING",
                "AGENTQUEUE_WORKERS": str(args.gateway_processes),
                "AGENTQUEUE_BUDGETS": json.dumps(budgets(_models(), args.minute_seconds)),
                "AGENTQUEUE_TASK_KINDS": json.dumps(["completion", "map_reduce"]),
                # the webhook receiver is this process, on 127.0.0.1
                "AGENTQUEUE_WEBHOOK_ALLOW_PRIVATE": "true",
                "AGENTQUEUE_WEBHOOK_ALLOW_HTTP": "true",
            },
            ready_timeout=180,
        )
    )


#: Niceness of the background workers, both architectures' (see the package docstring).
WORKER_NICE = 10


#: Niceness of the simulator: it stands for the providers' hardware, whose latency does
#: not depend on how busy our machine is (both architectures run against it).
SIMULATOR_NICE = -5


def renice(pid: int, nice: int) -> None:
    """Set every thread of ``pid`` and of its children to ``nice``. Linux's niceness is a
    thread's: ``setpriority`` on a pid changes its main thread only, and a Dramatiq
    worker's event loop and worker threads, started before, would stay at 0."""
    root = psutil.Process(pid)
    for process in (root, *root.children(recursive=True)):
        for thread in process.threads():
            os.setpriority(os.PRIO_PROCESS, thread.id, nice)


def nice_workers(stack: RunningStack) -> str:
    """agentqueue's queue workers at :data:`WORKER_NICE`, as separate pods would be, and
    the simulator at :data:`SIMULATOR_NICE` where allowed; says what it did."""
    for child in stack.group.children:
        if child.name.startswith("worker-"):
            renice(child.process.pid, WORKER_NICE)
    for child in stack.group.children:
        if child.name == "simulator":
            try:
                renice(child.process.pid, SIMULATOR_NICE)
            except PermissionError:  # raising a priority takes root (CAP_SYS_NICE)
                return "simulator at nice 0 (not root: could not raise it to -5)"
            return f"simulator at nice {SIMULATOR_NICE}"
    return "no simulator"


def stop_services(stack: RunningStack) -> None:
    """Stop agentqueue's own processes, keeping Redis and the simulator for the next run."""
    ours = [c for c in stack.group.children if c.name not in ("redis", "simulator")]
    for child in ours:
        child.process.send_signal(signal.SIGTERM)
    for child in ours:
        child.process.wait(60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--minute-seconds", type=float, default=15.0)
    parser.add_argument("--speed", type=float, default=0.5, help="simulator latency scale")
    parser.add_argument("--threads", type=int, default=32, help="tasks at once per worker")
    parser.add_argument("--gateway-processes", type=int, default=1)
    parser.add_argument(
        "--shared-gateway",
        action="store_true",
        help="chats through the gateway that serves tasks and sessions (default: a gateway "
        "of their own, as the design document's chats have a web process of their own)",
    )
    parser.add_argument("--ramp", type=float, default=30.0, help="seconds to start them all")
    parser.add_argument("--outage", default="90-150", help="primary down, seconds after start")
    parser.add_argument("--idle-samples", type=int, default=60)
    parser.add_argument("--deadline", type=float, default=900.0, help="seconds per run")
    parser.add_argument("--per-day", type=int, default=100_000, help="for the projection")
    parser.add_argument("--only", choices=("agentqueue", "designdoc"), default=None)
    args = parser.parse_args()
    outage = tuple(float(x) for x in args.outage.split("-"))
    assert len(outage) == 2
    workload = build(args.sessions, ramp_seconds=args.ramp)
    stack = start(args)
    priorities = nice_workers(stack)
    assert stack.simulator_url is not None
    sim_url = stack.simulator_url

    async def reset_simulator() -> None:
        async with httpx.AsyncClient(base_url=sim_url, timeout=10) as sim:
            (await sim.post("/_sim/reset")).raise_for_status()
            (
                await sim.patch("/_sim/config", json=simulator_config(args.minute_seconds))
            ).raise_for_status()

    runs = []
    try:
        asyncio.run(reset_simulator())
        load = os.getloadavg()
        print(
            f"{len(workload)} sessions x 10 LLM calls; a minute lasts {args.minute_seconds} s; "
            f"simulator speed {args.speed}; {args.threads} tasks at once per worker; "
            f"{TIERS[0].provider} out {args.outage} s after start; workers at nice "
            f"{WORKER_NICE}, {priorities}; {os.cpu_count()} cores, "
            f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
            flush=True,
        )
        if args.only != "designdoc":
            t = time.time()
            runs.append(
                asyncio.run(
                    agentqueue_run.run(
                        stack,
                        workload,
                        outage_window=outage,  # type: ignore[arg-type]
                        idle_samples=args.idle_samples,
                        reset_simulator=reset_simulator,
                        deadline_seconds=args.deadline,
                        concurrency=args.threads,
                        nice=WORKER_NICE,
                    )
                )
            )
            print(f"agentqueue run: {time.time() - t:.0f} s", flush=True)
        configs = list(stack.providers)
        redis_url = stack.redis_url.rsplit("/", 1)[0] + "/1"
        stop_services(stack)
        asyncio.run(reset_simulator())
        if args.only != "agentqueue":
            t = time.time()
            runs.append(
                asyncio.run(
                    designdoc_run.run(
                        redis_url,
                        sim_url,
                        configs,
                        workload,
                        concurrency=args.threads,
                        nice=WORKER_NICE,
                        minute_seconds=args.minute_seconds,
                        outage_window=outage,  # type: ignore[arg-type]
                        idle_samples=args.idle_samples,
                        reset_simulator=reset_simulator,
                        deadline_seconds=args.deadline,
                        shared_processes={
                            c.name: c.process.pid
                            for c in stack.group.children
                            if c.name in ("redis", "simulator")
                        },
                    )
                )
            )
            print(f"design-document run: {time.time() - t:.0f} s", flush=True)
    finally:
        stack.stop()
    print()
    print(table(runs, minute_seconds=args.minute_seconds, outage=outage, per_day=args.per_day))  # type: ignore[arg-type]
    load = os.getloadavg()
    print(f"\nload average at the end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()

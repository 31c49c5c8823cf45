"""CPU time per process over a run: where the machine's cores went.

On one machine every process of both architectures — and the simulator playing the
providers — shares the same cores, so a slow first token is often another process's CPU.
This counts each named process with its children (a Dramatiq worker's forks, uvicorn's
workers), user plus system time, between two snapshots.
"""

from __future__ import annotations

import asyncio
import time

import psutil


def _tree_seconds(pid: int) -> float:
    try:
        root = psutil.Process(pid)
        tree = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for process in tree:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:  # ended between the listing and now
            continue
        total += times.user + times.system
    return total


def snapshot(processes: dict[str, int]) -> dict[str, float]:
    """CPU seconds so far of each named process and its children."""
    return {name: _tree_seconds(pid) for name, pid in processes.items()}


def _in_cores(used: dict[str, float], seconds: float, idle_too: bool) -> tuple[float, str]:
    """The cores used in all, and each process's, busiest first (``idle_too``: also
    those that used none)."""
    busiest = sorted(used.items(), key=lambda item: -item[1])
    parts = [f"{name} {cpu / seconds:.2f}" for name, cpu in busiest if idle_too or cpu > 0]
    return sum(used.values()) / seconds, ", ".join(parts)


def spent(before: dict[str, float], after: dict[str, float], seconds: float) -> str:
    """One line: each process's CPU between the snapshots, as cores, busiest first."""
    total, parts = _in_cores({n: after.get(n, 0.0) - before[n] for n in before}, seconds, True)
    return f"CPU over the run, in cores ({total:.2f} in all): {parts}"


class Timeline:
    """Snapshots every ``every`` seconds, to say who had the cores in a given stretch."""

    def __init__(self, processes: dict[str, int], every: float = 0.5) -> None:
        self.processes, self.every = processes, every
        self.snapshots: list[tuple[float, dict[str, float]]] = []
        self.stopped = False

    async def run(self) -> None:
        while not self.stopped:
            self.snapshots.append((time.time(), snapshot(self.processes)))
            await asyncio.sleep(self.every)

    def between(self, start: float, end: float) -> str:
        """Each process's CPU, in cores, from ``start`` to ``end`` (epoch seconds)."""
        inside = [(at, snap) for at, snap in self.snapshots if start <= at <= end]
        if len(inside) < 2:
            return "no samples"
        (t0, first), (t1, last) = inside[0], inside[-1]
        used = {name: last.get(name, 0.0) - first[name] for name in first}
        total, parts = _in_cores(used, t1 - t0, False)
        return f"{total:.2f} cores: {parts}"

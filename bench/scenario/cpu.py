"""CPU time per process over a run: where the machine's cores went.

On one machine every process of both architectures — and the simulator playing the
providers — shares the same cores, so a slow first token is often another process's CPU.
This counts each named process with its children (a Dramatiq worker's forks, uvicorn's
workers), user plus system time, between two snapshots.
"""

from __future__ import annotations

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


def spent(before: dict[str, float], after: dict[str, float], seconds: float) -> str:
    """One line: each process's CPU between the snapshots, as cores, busiest first."""
    used = {name: after.get(name, 0.0) - before.get(name, 0.0) for name in before}
    total = sum(used.values())
    parts = [
        f"{name} {cpu / seconds:.2f}"
        for name, cpu in sorted(used.items(), key=lambda item: -item[1])
    ]
    return f"CPU over the run, in cores ({total / seconds:.2f} in all): " + ", ".join(parts)

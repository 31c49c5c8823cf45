"""Serving ``/metrics`` from one process or several (prometheus_client's multiprocess mode).

Why: the gateway may run several uvicorn worker processes behind one port; a scrape
reaches one of them at random, so each process writing its own in-memory registry would
show a random sixth of the traffic. In multiprocess mode every process writes its values
to files in ``PROMETHEUS_MULTIPROC_DIR`` and ``/metrics`` sums them all.

The mode is chosen when ``prometheus_client`` is first imported, from the environment:
the entry point that spawns the processes calls :func:`prepare_multiproc_dir` before
starting them (a private directory, emptied: values of an earlier run must not count),
each process calls :func:`mark_process_dead` on exit (its live gauges leave the sum),
and :func:`latest` answers a scrape either way.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)
from prometheus_client.registry import Collector

#: The variable prometheus_client reads.
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
#: What ``/metrics`` answers with.
CONTENT_TYPE = CONTENT_TYPE_LATEST


def multiproc_dir() -> str | None:
    """The multiprocess directory of this process, None in single-process mode."""
    return os.environ.get(MULTIPROC_ENV) or None


def prepare_multiproc_dir(service: str) -> str:
    """Set up multiprocess mode for the processes this one will start: the directory
    ``PROMETHEUS_MULTIPROC_DIR`` names (emptied), or a new private one set there."""
    path = multiproc_dir()
    if path is None:
        path = tempfile.mkdtemp(prefix=f"agentqueue-{service}-metrics-")
        os.environ[MULTIPROC_ENV] = path
        return path
    Path(path).mkdir(parents=True, exist_ok=True)
    for stale in Path(path).glob("*.db"):
        stale.unlink(missing_ok=True)
    return path


def remove_multiproc_dir(path: str) -> None:
    """Remove a directory :func:`prepare_multiproc_dir` made (its prefix says so)."""
    if Path(path).name.startswith("agentqueue-"):
        shutil.rmtree(path, ignore_errors=True)


def mark_process_dead(pid: int | None = None) -> None:
    """This process (or ``pid``) is gone: its live gauges leave the sums."""
    if multiproc_dir() is not None:
        multiprocess.mark_process_dead(pid if pid is not None else os.getpid())  # type: ignore[no-untyped-call]


def latest(extra: Iterable[Collector] = ()) -> bytes:
    """The exposition text of every process (or of this one), plus ``extra`` collectors
    (values read at scrape time, e.g. queue depths)."""
    if multiproc_dir() is not None:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        for collector in extra:
            registry.register(collector)
        return generate_latest(registry)
    body = generate_latest(REGISTRY)
    extra = list(extra)
    if extra:
        registry = CollectorRegistry()
        for collector in extra:
            registry.register(collector)
        body += generate_latest(registry)
    return body

"""The worker's Prometheus metrics and its ``/metrics`` endpoint.

Dramatiq's own middleware has no task-level view: the task families of the dashboards'
contract (queue wait, run time, finished, retries, dead letters:
``core.telemetry.metrics``) are recorded by the actor and the runner, and so are the
LLM call families, by the fallback chain the runner calls. A worker is one process
(Dramatiq's threads), so its registry is served as it is, on
``AGENTQUEUE_METRICS_HOST:AGENTQUEUE_METRICS_PORT`` (127.0.0.1:9100 by default: a pod
sets 0.0.0.0).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from decimal import Decimal

from prometheus_client import Histogram, start_http_server

from agentqueue.core.telemetry import metrics as m

log = logging.getLogger(__name__)

TASK_COST = Histogram(
    "agentqueue_worker_task_cost_usd",
    "Cost of each succeeded task, USD",
    buckets=(0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5),
)
TASK_COST_BY_KIND = Histogram(
    "agentqueue_worker_agent_task_cost_usd",
    "Cost of each succeeded task by agent kind, USD (a task is a one-task session)",
    ["kind"],
    buckets=(0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5),
)
TASK_CALLS = Histogram(
    "agentqueue_worker_agent_task_calls",
    "LLM calls of each succeeded task by agent kind",
    ["kind"],
    buckets=(1, 2, 3, 5, 8, 13, 21, 34, 55, 100),
)

#: Agent kinds that keep their name as a label (installed ones); others are ``other``.
_kinds: frozenset[str] = frozenset()


def known_kinds(kinds: Iterable[str], priority: str) -> None:
    """The installed agent kinds, and this worker's task counters at zero."""
    global _kinds
    _kinds = frozenset(kinds)
    m.init_priorities([priority], _kinds)


def kind_label(kind: str) -> str:
    return kind if kind in _kinds else "other"


def observe_task(kind: str, cost_usd: Decimal, calls: int) -> None:
    """A succeeded task's cost and calls, by agent kind (sessions: core.sessions.metrics)."""
    TASK_COST_BY_KIND.labels(kind_label(kind)).observe(float(cost_usd))
    TASK_CALLS.labels(kind_label(kind)).observe(calls)


def task_finished(priority: str, kind: str, status: str, run_s: float | None) -> None:
    """A run that ended the task (``succeeded``, ``failed``, ``cancelled``)."""
    m.TASKS_FINISHED.labels(priority, kind_label(kind), status).inc()
    if status == "failed":
        m.DEAD_LETTERS.labels(priority).inc()  # the actor lets Dramatiq dead-letter it
    if run_s is not None:
        m.TASK_RUN.labels(priority, kind_label(kind)).observe(run_s)


def task_retried(priority: str, kind: str, run_s: float) -> None:
    m.TASK_RETRIES.labels(priority).inc()
    m.TASK_RUN.labels(priority, kind_label(kind)).observe(run_s)


def queue_waited(priority: str, seconds: float) -> None:
    m.TASK_QUEUE_WAIT.labels(priority).observe(max(0.0, seconds))


def serve_metrics(host: str, port: int) -> bool:
    """Serve ``/metrics`` on ``host:port`` (port 0: not at all). A port already taken is
    logged, not fatal: the worker's tasks matter more than its metrics (in a pod the
    readiness probe on the port says so)."""
    if not port:
        return False
    try:
        start_http_server(port, addr=host)
    except OSError as exc:
        log.error("metrics endpoint not started on %s:%d: %s", host, port, exc)
        return False
    log.info("metrics on http://%s:%d/metrics", host, port)
    return True

"""The worker's Prometheus metrics (Dramatiq's own middleware has no task-level view)."""

from __future__ import annotations

from decimal import Decimal

from prometheus_client import Counter, Histogram

TASKS_FINISHED = Counter(
    "agentqueue_worker_tasks_finished_total",
    "Tasks that reached a terminal state",
    ["priority", "state"],
)
LLM_CALLS = Counter(
    "agentqueue_worker_llm_calls_total",
    "Successful LLM calls made by tasks",
    ["provider", "model"],
)
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


def observe_task(kind: str, cost_usd: Decimal, calls: int) -> None:
    """A succeeded task's cost and calls, by agent kind (sessions: core.sessions.metrics)."""
    TASK_COST_BY_KIND.labels(kind).observe(float(cost_usd))
    TASK_CALLS.labels(kind).observe(calls)

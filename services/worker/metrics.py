"""The worker's Prometheus metrics (Dramatiq's own middleware has no task-level view)."""

from __future__ import annotations

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

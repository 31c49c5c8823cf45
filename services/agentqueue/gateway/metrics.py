"""The gateway's Prometheus metrics."""

from __future__ import annotations

from prometheus_client import Counter

TASKS_SUBMITTED = Counter(
    "agentqueue_gateway_tasks_submitted_total",
    "Tasks accepted by the gateway",
    ["priority"],
)
IDEMPOTENT_REPLAYS = Counter(
    "agentqueue_gateway_idempotent_replays_total",
    "Submissions answered with an existing task because of an Idempotency-Key",
)

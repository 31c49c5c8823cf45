"""The gateway's Prometheus metrics."""

from __future__ import annotations

from prometheus_client import Counter

from agentqueue.core.base.priority import Priority

TASKS_SUBMITTED = Counter(
    "agentqueue_gateway_tasks_submitted_total",
    "Tasks accepted by the gateway",
    ["priority"],
)
IDEMPOTENT_REPLAYS = Counter(
    "agentqueue_gateway_idempotent_replays_total",
    "Submissions answered with an existing task because of an Idempotency-Key",
)

#: The counter's child per priority, looked up once (``labels`` per request is a lock and a
#: dict lookup on the submission path).
_SUBMITTED = {p: TASKS_SUBMITTED.labels(p.value) for p in Priority}


def submitted(priority: Priority) -> None:
    """Count one task accepted at ``priority``."""
    _SUBMITTED[priority].inc()

"""The gateway's Prometheus metrics (the LLM call families are core.telemetry.metrics')."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

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


#: Requests by route template (never the raw path: ``/v1/tasks/{task_id}``), method and
#: status; recorded by the gateway's middleware
#: (``gateway/observability.py``). Unmatched paths are ``none``.
HTTP_REQUESTS = Counter(
    "http_requests",
    "HTTP requests by route template, method and status",
    ["handler", "method", "status"],
)
HTTP_DURATION = Histogram(
    "http_request_duration_seconds",
    "HTTP request duration by route template and method (a stream: until its end)",
    ["handler", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)

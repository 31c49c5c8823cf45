"""The operator's Prometheus gauges: what it decided for each AgentQueue, and why.

The status of an AgentQueue says the same (``desiredReplicas``, ``currentReplicas``, the
``Scaling`` and ``BudgetLimited`` conditions); these put it beside the queues' own metrics,
for the chart's dashboard ("replicas vs desired, with the operator's reason") and its
queue-age alert (``agentqueue_queue_objective_seconds``: the queue's ``drainTimeSeconds``).

Labels: ``namespace`` and ``agentqueue`` name the resource (the chart's PodMonitor keeps
the operator's ``namespace`` with ``honorLabels``, so a cluster-wide operator's series sit
in each queue's own namespace), ``queue`` is its Dramatiq queue. A reason is a condition's
CamelCase reason, never the free-text message, so the series stay few.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from prometheus_client import Gauge, disable_created_metrics

from agentqueue.operator.spec import AgentQueueSpec

disable_created_metrics()  # type: ignore[no-untyped-call]  # no `_created` families

_LABELS = ["namespace", "agentqueue", "queue"]

DESIRED = Gauge("agentqueue_operator_desired_replicas", "Worker replicas the operator set", _LABELS)
CURRENT = Gauge(
    "agentqueue_operator_current_replicas", "Worker replicas running and ready", _LABELS
)
REASON = Gauge(
    "agentqueue_operator_scale_reason",
    "1 for the reason of the AgentQueue's condition now (type Scaling or BudgetLimited)",
    [*_LABELS, "type", "reason"],
)
OBJECTIVE = Gauge(
    "agentqueue_queue_objective_seconds",
    "Seconds in which the queue's backlog should clear (the AgentQueue's drainTimeSeconds)",
    _LABELS,
)

#: (namespace, name) -> the label values of the series set for it, to drop them on change.
_seen: dict[tuple[str, str], tuple[tuple[str, ...], set[tuple[str, str]]]] = {}


def record(
    namespace: str, name: str, spec: AgentQueueSpec | None, status: Mapping[str, Any]
) -> None:
    """Set the gauges from a reconcile's status patch (``spec`` None: an invalid spec)."""
    key = (namespace, name)
    previous_labels, previous_reasons = _seen.get(key, ((), set()))
    queue = spec.queue.value if spec is not None else (previous_labels[2:3] or ("",))[0]
    labels = (namespace, name, queue)
    if previous_labels and previous_labels != labels:
        forget(namespace, name)
        previous_reasons = set()
    if "desiredReplicas" in status:
        DESIRED.labels(*labels).set(status["desiredReplicas"])
    if status.get("currentReplicas") is not None:
        CURRENT.labels(*labels).set(status["currentReplicas"])
    if spec is not None:
        OBJECTIVE.labels(*labels).set(spec.drain_time_seconds)
    reasons = {
        (str(c["type"]), str(c.get("reason") or "Unknown"))
        for c in status.get("conditions") or ()
        if c.get("type") in ("Scaling", "BudgetLimited")
    }
    for type_, reason in previous_reasons - reasons:
        with contextlib.suppress(KeyError):
            REASON.remove(*labels, type_, reason)
    for type_, reason in reasons:
        REASON.labels(*labels, type_, reason).set(1)
    _seen[key] = (labels, reasons)


def forget(namespace: str, name: str) -> None:
    """Drop every series of an AgentQueue (deleted, or its queue changed)."""
    labels, reasons = _seen.pop((namespace, name), ((), set()))
    if not labels:
        return
    for gauge in (DESIRED, CURRENT, OBJECTIVE):
        with contextlib.suppress(KeyError):
            gauge.remove(*labels)
    for type_, reason in reasons:
        with contextlib.suppress(KeyError):
            REASON.remove(*labels, type_, reason)

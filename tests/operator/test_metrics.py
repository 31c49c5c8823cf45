"""The operator's gauges follow each AgentQueue's status: one series per reason now, none
left behind when the reason changes or the AgentQueue goes (stale reasons on a dashboard
would say the operator holds for a reason it no longer has)."""

from __future__ import annotations

from typing import Any

from prometheus_client import REGISTRY

from agentqueue.operator import metrics
from agentqueue.operator.spec import AgentQueueSpec

SPEC = AgentQueueSpec.of({"queue": "high", "worker": {"image": "w"}, "drainTimeSeconds": 45})


def _status(desired: int, running: int, scaling: str, budget: str) -> dict[str, Any]:
    return {
        "desiredReplicas": desired,
        "currentReplicas": running,
        "conditions": [
            {"type": "Ready", "reason": "Reconciled"},
            {"type": "Scaling", "reason": scaling},
            {"type": "BudgetLimited", "reason": budget},
        ],
    }


def _series(name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {
        tuple(sorted(s.labels.items())): s.value
        for family in REGISTRY.collect()
        for s in family.samples
        if s.name == name and s.labels.get("agentqueue") == "t-high"
    }


def test_gauges_follow_the_status_and_go_with_the_agentqueue() -> None:
    base = (("agentqueue", "t-high"), ("namespace", "ns"), ("queue", "high"))
    metrics.record("ns", "t-high", SPEC, _status(3, 1, "ScalingUp", "WithinBudget"))
    assert _series("agentqueue_operator_desired_replicas") == {base: 3}
    assert _series("agentqueue_operator_current_replicas") == {base: 1}
    assert _series("agentqueue_queue_objective_seconds") == {base: 45}
    reasons = {dict(k)["reason"] for k in _series("agentqueue_operator_scale_reason")}
    assert reasons == {"ScalingUp", "WithinBudget"}  # Ready is not a scaling reason

    metrics.record("ns", "t-high", SPEC, _status(3, 3, "Stable", "WithinBudget"))
    reasons = {dict(k)["reason"] for k in _series("agentqueue_operator_scale_reason")}
    assert reasons == {"Stable", "WithinBudget"}

    # An invalid spec: the failure's status (no desiredReplicas) keeps the last numbers.
    failed = {"conditions": [{"type": "Scaling", "reason": "Holding"}]}
    metrics.record("ns", "t-high", None, failed)
    assert _series("agentqueue_operator_desired_replicas") == {base: 3}
    reasons = {dict(k)["reason"] for k in _series("agentqueue_operator_scale_reason")}
    assert reasons == {"Holding"}

    metrics.forget("ns", "t-high")
    for name in (
        "agentqueue_operator_desired_replicas",
        "agentqueue_operator_current_replicas",
        "agentqueue_operator_scale_reason",
        "agentqueue_queue_objective_seconds",
    ):
        assert _series(name) == {}, name
    metrics.forget("ns", "t-high")  # twice: nothing to do

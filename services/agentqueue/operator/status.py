"""What an AgentQueue's status says after a reconcile: the numbers and the conditions.

Pure: built from what the reconcile observed and decided, so ``kubectl describe`` shows
the same reasons the scaling Events carry; after a failed reconcile, Ready=False with the
failure's reason (:mod:`.failures`). Conditions keep their transition time while
their status holds (:mod:`.conditions`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from agentqueue.core.queues.depth import QueueDepth
from agentqueue.operator.conditions import Condition, merge_conditions
from agentqueue.operator.failures import Failure
from agentqueue.operator.headroom import BudgetView
from agentqueue.operator.learning import Rates
from agentqueue.operator.scaling import Recommendation


@dataclass(frozen=True)
class ScaleEvent:
    type: str
    reason: str
    message: str


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def queue_status(
    *,
    previous: Mapping[str, Any],
    now: str,
    depth: QueueDepth,
    view: BudgetView,
    share: float | None,
    rec: Recommendation,
    rates: Rates,
    replicas: int,
    running: int,
    scale_reason: str | None,
    held: bool,
    generation: int | None,
) -> dict[str, Any]:
    """The status patch after a reconcile; ``scale_reason`` only when replicas changed."""
    conditions = [
        Condition("Ready", True, "Reconciled", f"{running} of {replicas} replica(s) ready"),
        _scaling_condition(replicas, running, rec, held),
        _budget_condition(view, rec, replicas),
    ]
    status: dict[str, Any] = {
        "observedGeneration": generation,
        "depth": {
            "ready": depth.ready,
            "inFlight": depth.in_flight,
            "delayed": depth.delayed,
            "dead": depth.dead,
        },
        "desiredReplicas": replicas,
        "currentReplicas": running,
        "headroom": {
            "availableTokens": _int(view.available_tokens),
            "sustainableTpm": _int(view.sustainable_tpm),
            "budgetCapReplicas": rec.budget_cap,
            "queueShareTpm": _int(share),
            "limiterReachable": view.reachable,
        },
        "tokensPerMinutePerReplica": _int(rates.tpm_per_replica) or 0,
        "messagesPerSecondPerReplica": round(rates.messages_per_second or 0.0, 4),
        "learnedMinutes": rates.minutes,
        "conditions": merge_conditions(previous.get("conditions"), conditions, now),
    }
    if scale_reason is not None:
        status["lastScaleTime"] = now
        status["lastScaleReason"] = scale_reason
    return status


def failed_status(
    previous: Mapping[str, Any],
    now: str,
    failure: Failure,
    running: int | None,
    generation: int | None,
) -> dict[str, Any]:
    """The status patch after a failed reconcile: Ready=False with the failure's reason.

    Only what the failure leaves true is written: the numbers of the last good reconcile
    stay, the budget condition too (nothing new was learned about the budget), and
    ``currentReplicas`` only when the Deployment was read (``running`` not None).
    """
    conditions = [
        Condition("Ready", False, failure.reason, failure.message),
        Condition("Scaling", False, "Holding", failure.message),
    ]
    kept = [c for c in previous.get("conditions") or () if c.get("type") == "BudgetLimited"]
    status: dict[str, Any] = {
        "observedGeneration": generation,
        "conditions": merge_conditions(previous.get("conditions"), conditions, now) + kept,
    }
    if running is not None:
        status["currentReplicas"] = running
    return status


def _int(value: float | None) -> int | None:
    return None if value is None else round(value)


def held_message(view: BudgetView, current: int) -> str:
    return (
        f"limiter unreachable ({view.error}): budget cap held at the {current} running "
        "replica(s) until it answers"
    )


def _scaling_condition(replicas: int, running: int, rec: Recommendation, held: bool) -> Condition:
    if held:
        return Condition("Scaling", False, "ScaleDownStabilizing", rec.reason)
    if running < replicas:
        return Condition("Scaling", True, "ScalingUp", f"{running} -> {replicas}: {rec.reason}")
    if running > replicas:
        return Condition("Scaling", True, "ScalingDown", f"{running} -> {replicas}: {rec.reason}")
    return Condition("Scaling", False, "Stable", rec.reason)


def _budget_condition(view: BudgetView, rec: Recommendation, replicas: int) -> Condition:
    if not view.reachable:
        limits = rec.demand > replicas
        return Condition(
            "BudgetLimited", limits, "LimiterUnreachable", held_message(view, replicas)
        )
    if view.unknown and view.sustainable_tpm is None:
        return Condition(
            "BudgetLimited",
            False,
            "UnknownBudget",
            f"budget(s) {', '.join(view.unknown)} not configured in the limiter: not limited",
        )
    if rec.budget_cap is None:
        return Condition("BudgetLimited", False, "NoBudgetCap", "no budget cap (rates unknown)")
    if rec.budget_limited:
        return Condition(
            "BudgetLimited",
            True,
            "BudgetCap",
            f"budget feeds {rec.budget_cap} replica(s), demand is {rec.demand}",
        )
    return Condition(
        "BudgetLimited",
        False,
        "WithinBudget",
        f"budget feeds {rec.budget_cap} replica(s), demand is {rec.demand}",
    )

"""Events on the transitions of a failure, not on every interval it lasts.

A failing AgentQueue is reconciled again every interval, and its Ready condition says
why each time; but an Event a tick would bury everything else in ``kubectl describe``
(and the API server's Event store). So: one Warning when a failure starts (or its reason
changes, e.g. Redis came back but the API server now refuses), nothing while it lasts,
and one Normal ``Recovered`` when a reconcile succeeds again.

Whether a failure is already being reported is read from the previous Ready condition
(the one last decided, see :class:`~.conditions.DecidedConditions`), not kept apart: so a
restarted operator, or a peer taking over, neither repeats the Warning of an ongoing
failure nor forgets to say it recovered.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agentqueue.operator.failures import REASONS, RECOVERED, Failure
from agentqueue.operator.status import ScaleEvent


def reported_failure(previous: Mapping[str, Any]) -> str | None:
    """The failure reason the Ready condition shows, if it shows one."""
    for condition in previous.get("conditions") or ():
        if condition.get("type") == "Ready" and condition.get("status") == "False":
            reason = condition.get("reason")
            return reason if reason in REASONS else None
    return None


def failure_events(previous: Mapping[str, Any], failure: Failure) -> list[ScaleEvent]:
    """The Warning to post if this failure is news; none if it is already reported."""
    if reported_failure(previous) == failure.reason:
        return []
    return [ScaleEvent("Warning", failure.reason, failure.message)]


def recovery_events(previous: Mapping[str, Any], message: str) -> list[ScaleEvent]:
    """``Recovered`` if a failure was being reported; ``message``: how it is now."""
    was = reported_failure(previous)
    if was is None:
        return []
    return [ScaleEvent("Normal", RECOVERED, f"reconciled again after {was}: {message}")]

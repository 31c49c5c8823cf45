"""Failures as the AgentQueue tells them: pure parts (Events on transitions, the status
after a failure, what the API's refusal reads as)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from agentqueue.operator.conditions import DecidedConditions
from agentqueue.operator.failures import Failure, failure_of
from agentqueue.operator.incidents import failure_events, recovery_events
from agentqueue.operator.kube import KubeApiError, KubeClient
from agentqueue.operator.status import failed_status

API = Failure("KubernetesApiError", "create deployments.apps ns1/w: 403 Forbidden: no")
REDIS = Failure("RedisUnavailable", "queue depth unreadable")
T0, T1 = "2026-01-01T00:00:00Z", "2026-01-01T00:05:00Z"


def ready(status: str, reason: str, since: str = T0) -> dict[str, Any]:
    condition = {"type": "Ready", "status": status, "reason": reason, "lastTransitionTime": since}
    return {"conditions": [condition]}


def test_one_warning_when_a_failure_starts_and_one_recovered_when_it_ends() -> None:
    healthy, failing = ready("True", "Reconciled"), ready("False", "KubernetesApiError")
    assert recovery_events(healthy, "1 of 1 replica(s) ready") == []
    (warning,) = failure_events(healthy, API)
    assert (warning.type, warning.reason, warning.message) == ("Warning", API.reason, API.message)
    assert failure_events(failing, API) == []  # still failing: nothing new
    (other,) = failure_events(failing, REDIS)  # a new reason is news
    assert other.reason == "RedisUnavailable"
    (back,) = recovery_events(ready("False", "RedisUnavailable"), "1 of 1 replica(s) ready")
    assert (back.type, back.reason) == ("Normal", "Recovered")
    assert back.message == "reconciled again after RedisUnavailable: 1 of 1 replica(s) ready"
    assert recovery_events(ready("False", "SomethingElse"), "") == []  # not one of ours


def test_the_last_decided_conditions_win_while_the_object_lags() -> None:
    decided = DecidedConditions()
    c0 = ready("True", "Reconciled")["conditions"]
    c1 = ready("False", "KubernetesApiError", T1)["conditions"]
    c2 = ready("False", "KubernetesApiError", T1)["conditions"] + [{"type": "Scaling"}]
    assert decided.previous("u", c0) == c0  # nothing decided yet: the object's
    decided.decided("u", c0, c1)
    assert decided.previous("u", c0) == c1  # the write has not come back (or was refused)
    decided.decided("u", c0, c2)
    assert decided.previous("u", c0) == c2
    assert decided.previous("u", c1) == c2  # the first write came back, the second not yet
    assert decided.previous("u", c2) == c2
    for _ in range(3 * DecidedConditions.KEEP):  # a long refusal: the basis stays known
        decided.decided("u", c0, [{"type": "Ready", "status": "False", "n": str(_)}])
    assert decided.previous("u", c0)[0]["n"] == str(3 * DecidedConditions.KEEP - 1)
    other = ready("True", "Reconciled", "2026-01-01T00:09:00Z")["conditions"]
    assert decided.previous("u", other) == other  # someone else wrote: the object wins
    decided.forget("u")
    assert decided.previous("u", c0) == c0


def test_the_failed_status_keeps_its_transition_time_and_the_budget_condition() -> None:
    budget = {"type": "BudgetLimited", "status": "True", "reason": "BudgetCap"}
    previous = ready("False", "KubernetesApiError")
    previous["conditions"].append(budget)
    status = failed_status(previous, T1, API, None, 3)
    ready_, scaling, kept = status["conditions"]
    assert (ready_["status"], ready_["reason"]) == ("False", "KubernetesApiError")
    assert ready_["lastTransitionTime"] == T0  # still False: since the failure started
    assert (scaling["reason"], scaling["lastTransitionTime"]) == ("Holding", T1)
    assert kept == budget
    assert status["observedGeneration"] == 3
    assert "currentReplicas" not in status  # the Deployment was not read
    assert (
        failed_status(ready("True", "Reconciled"), T1, API, 2, 3)["conditions"][0][
            "lastTransitionTime"
        ]
        == T1
    )


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (
            KubeApiError("get", "deployments.apps ns/w", "503 ServiceUnavailable"),
            "KubernetesApiError",
        ),
        (RedisConnectionError("refused"), "RedisUnavailable"),
        (KeyError("spec"), "ReconcileFailed"),
    ],
)
def test_failures_are_translated_by_class(exc: Exception, reason: str) -> None:
    assert failure_of(exc).reason == reason


async def test_a_refusal_names_the_verb_the_object_and_what_the_api_said() -> None:
    status = {
        "kind": "Status",
        "code": 403,
        "reason": "Forbidden",
        "message": 'deployments.apps "w" is forbidden: cannot set blockOwnerDeletion',
    }
    transport = httpx.MockTransport(lambda request: httpx.Response(403, json=status))
    client = KubeClient(httpx.AsyncClient(transport=transport, base_url="http://api"))
    deployments = client.resource("apps", "v1", "deployments")
    with pytest.raises(KubeApiError) as caught:
        await deployments.create("ns1", {"metadata": {"name": "w"}})
    await client.aclose()

    assert caught.value.status == 403
    assert str(caught.value) == (
        'create deployments.apps ns1/w: 403 Forbidden: deployments.apps "w" is forbidden: '
        "cannot set blockOwnerDeletion"
    )

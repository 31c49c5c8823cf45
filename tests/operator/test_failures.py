"""Failures show on the AgentQueue, run for real (kopf, kmock, a real Redis).

When the API server or Redis refuses the operator, the AgentQueue says so: Ready=False
with the reason, one Warning Event when it starts (not one an interval), and once it
passes, Ready=True and one Normal ``Recovered`` Event. "Several intervals" are counted in
reconciles (each reads the worker Deployment once), never in seconds, so a loaded machine
only makes the tests slower.
"""

from __future__ import annotations

from typing import Any

import httpx
import kmock
import pytest

from bench.kube_harness import running_operator
from tests.operator.conftest import (
    AQ,
    DEPLOYMENTS,
    NS,
    agent_queue,
    apply,
    condition,
    events,
    eventually,
    obj,
    operator_settings,
    reconciles,
    refusing,
)
from tests.operator.outage import cuttable_proxy

pytestmark = pytest.mark.slow

#: What a real API server says when the operator's Role lacks ``agentqueues/finalizers``.
FORBIDDEN = (
    'deployments.apps "standard-worker" is forbidden: cannot set blockOwnerDeletion if an '
    "ownerReference refers to a resource you can't set finalizers on: , <nil>"
)
#: Generous: a loaded 2-core machine runs the operator, kmock and Redis in one process.
PATIENCE = 30.0


def warnings(kube: Any) -> list[dict[str, Any]]:
    return [e for e in events(kube) if e["type"] == "Warning"]


def by_reason(kube: Any, reason: str) -> list[dict[str, Any]]:
    return [e for e in events(kube) if e["reason"] == reason]


async def more_reconciles(kube: Any, n: int) -> None:
    """Wait until ``n`` more reconciles have run."""
    target = reconciles(kube) + n
    await eventually(lambda: reconciles(kube) >= target, timeout=PATIENCE)


async def test_a_refused_deployment_shows_on_the_agentqueue_until_it_passes(
    kube: Any, redis_url: str
) -> None:
    forbidden = kmock.KubernetesError(status=403, reason="Forbidden", message=FORBIDDEN)
    async with running_operator(operator_settings(redis_url, None)):
        with refusing(kube, kmock.action.CREATE, DEPLOYMENTS, forbidden) as refusal:
            await apply(kube, agent_queue(budgets=[]))
            await eventually(
                lambda: condition(kube, "Ready").get("reason") == "KubernetesApiError",
                timeout=PATIENCE,
            )
            failing = condition(kube, "Ready")
            await eventually(lambda: warnings(kube), timeout=PATIENCE)
            await more_reconciles(kube, 4)
            still = condition(kube, "Ready")
            warned = warnings(kube)
            refused = refusal.count

        # The refusal is lifted: the next reconcile creates the Deployment.
        await eventually(lambda: obj(kube, DEPLOYMENTS, "standard-worker"), timeout=PATIENCE)
        await eventually(lambda: condition(kube, "Ready").get("status") == "True", timeout=PATIENCE)
        await eventually(lambda: by_reason(kube, "Recovered"), timeout=PATIENCE)
        await more_reconciles(kube, 2)
        recovered = condition(kube, "Ready")

    assert failing["status"] == "False"
    message = failing["message"]
    assert "create deployments.apps ns1/standard-worker" in message  # the verb and object
    assert "403 Forbidden" in message  # the API's code and reason
    assert "cannot set blockOwnerDeletion" in message  # and its message
    assert "no worker Deployment yet" in message
    assert condition(kube, "Scaling").get("reason") != "Holding"
    assert refused >= 4  # one create a reconcile, all refused ...
    assert still["lastTransitionTime"] == failing["lastTransitionTime"]  # ... one transition
    (warning,) = warned  # ... and one Warning
    assert warning["reason"] == "KubernetesApiError"
    assert "cannot set blockOwnerDeletion" in warning["message"]
    assert warning["involvedObject"]["name"] == "standard"
    assert [w["reason"] for w in warnings(kube)] == ["KubernetesApiError"]  # none since
    (back,) = by_reason(kube, "Recovered")
    assert back["type"] == "Normal"
    assert back["message"].startswith("reconciled again after KubernetesApiError")
    assert recovered["reason"] == "Reconciled"
    assert recovered["lastTransitionTime"] >= failing["lastTransitionTime"]
    assert by_reason(kube, "Created")


async def test_a_redis_outage_warns_once_and_recovers(kube: Any, redis_url: str) -> None:
    async with (
        cuttable_proxy(redis_url) as redis,
        running_operator(operator_settings(redis.url, None)),
    ):
        await apply(kube, agent_queue(budgets=[]))
        await eventually(lambda: condition(kube, "Ready").get("status") == "True", timeout=PATIENCE)

        await redis.cut()
        await eventually(
            lambda: condition(kube, "Ready").get("reason") == "RedisUnavailable",
            timeout=PATIENCE,
        )
        failing = condition(kube, "Ready")
        await eventually(lambda: warnings(kube), timeout=PATIENCE)
        await more_reconciles(kube, 4)
        still = condition(kube, "Ready")
        warned = warnings(kube)

        await redis.restore()
        await eventually(lambda: condition(kube, "Ready").get("status") == "True", timeout=PATIENCE)
        await eventually(lambda: by_reason(kube, "Recovered"), timeout=PATIENCE)
        await more_reconciles(kube, 2)

    assert failing["status"] == "False"
    assert "queue depth unreadable" in failing["message"]
    assert "replicas left at 0" in failing["message"]  # the Deployment exists, untouched
    assert still["lastTransitionTime"] == failing["lastTransitionTime"]
    assert [w["reason"] for w in warned] == ["RedisUnavailable"]  # once, not every interval
    assert [w["reason"] for w in warnings(kube)] == ["RedisUnavailable"]
    (back,) = by_reason(kube, "Recovered")
    assert back["message"].startswith("reconciled again after RedisUnavailable")
    assert condition(kube, "Ready")["reason"] == "Reconciled"


async def test_a_refused_status_write_does_not_stop_the_loop(kube: Any, redis_url: str) -> None:
    """kopf's own status patch would end the timer on this error; ours is only logged."""
    unavailable = kmock.KubernetesError(status=503, reason="ServiceUnavailable", message="etcd")
    async with running_operator(operator_settings(redis_url, None)):
        with refusing(kube, kmock.action.UPDATE, AQ, unavailable, subresource="status") as r:
            await apply(kube, agent_queue(budgets=[]))
            await eventually(lambda: r.count >= 3, timeout=PATIENCE)  # three intervals' writes
            created = obj(kube, DEPLOYMENTS, "standard-worker")
            unwritten = condition(kube, "Ready")
        await eventually(lambda: condition(kube, "Ready").get("status") == "True", timeout=PATIENCE)

    assert created is not None  # the loop went on reconciling meanwhile
    assert unwritten == {}
    assert warnings(kube) == []  # the failure to write is the operator's log's business


async def test_an_invalid_spec_warns_once_and_recovers_once_fixed(
    kube: Any, redis_url: str
) -> None:
    """The CRD's schema would refuse it; the emulator does not, nor may an old CRD."""
    async with running_operator(operator_settings(redis_url, None)):
        await apply(kube, agent_queue(queue="bogus", budgets=[]))
        await eventually(
            lambda: condition(kube, "Ready").get("reason") == "InvalidSpec", timeout=PATIENCE
        )
        await eventually(lambda: warnings(kube), timeout=PATIENCE)
        await more_reconciles(kube, 3)
        warned = warnings(kube)
        invalid = condition(kube, "Ready")

        url = f"/apis/agentqueue.io/v1alpha1/namespaces/{NS}/agentqueues/standard"
        async with httpx.AsyncClient(base_url=str(kube.url)) as client:
            headers = {"Content-Type": "application/merge-patch+json"}
            fix = {"spec": {"queue": "standard"}}
            (await client.patch(url, json=fix, headers=headers)).raise_for_status()
        await eventually(lambda: by_reason(kube, "Recovered"), timeout=PATIENCE)
        await eventually(lambda: obj(kube, DEPLOYMENTS, "standard-worker"), timeout=PATIENCE)

    assert "invalid spec" in invalid["message"] and "queue" in invalid["message"]
    assert [w["reason"] for w in warned] == ["InvalidSpec"]
    assert [w["reason"] for w in warnings(kube)] == ["InvalidSpec"]
    assert condition(kube, "Ready")["status"] == "True"

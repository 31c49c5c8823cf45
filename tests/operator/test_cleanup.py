"""The chart's pre-delete hook: a release's AgentQueues go before the operator does."""

from typing import Any

import httpx
import kmock

from agentqueue.operator.cleanup import clean
from tests.operator.conftest import AQ, NS, agent_queue, apply, obj


def _labelled(name: str, release: str) -> dict[str, Any]:
    body = agent_queue(name)
    body["metadata"]["labels"] = {"app.kubernetes.io/instance": release}
    return body


async def test_deletes_the_releases_queues_and_no_others(kube: kmock.KubernetesEmulator) -> None:
    for name, release in (("high", "aq"), ("batch", "aq"), ("theirs", "other")):
        await apply(kube, _labelled(name, release))
    async with httpx.AsyncClient(base_url=str(kube.url)) as client:
        stripped = await clean(client, NS, "app.kubernetes.io/instance=aq", timeout=5, poll=0.05)
    assert stripped == []  # nothing held them: they went without force
    assert obj(kube, AQ, "high") is None and obj(kube, AQ, "batch") is None
    assert obj(kube, AQ, "theirs") is not None


async def test_a_queue_no_operator_releases_has_its_finalizer_stripped(
    kube: kmock.KubernetesEmulator,
) -> None:
    body = _labelled("stuck", "aq")
    body["metadata"]["finalizers"] = ["agentqueue.io/operator"]  # and no operator running
    await apply(kube, body)
    async with httpx.AsyncClient(base_url=str(kube.url)) as client:
        stripped = await clean(client, NS, "app.kubernetes.io/instance=aq", timeout=0.3, poll=0.05)
    assert stripped == ["stuck"]
    remaining = obj(kube, AQ, "stuck")
    assert remaining is None or not remaining["metadata"].get("finalizers")

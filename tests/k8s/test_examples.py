"""The example AgentQueues (k8s/examples, and the chart's defaults) are valid and usable:
they satisfy the CRD's schema and the operator can build a valid worker Deployment from each."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agentqueue.operator.deployment import worker_deployment
from agentqueue.operator.spec import AgentQueueSpec
from tests.charts.rendering import render
from tests.k8s.validation import REPO, SchemaError, load_documents, validate

EXAMPLES = sorted((REPO / "k8s" / "examples").glob("*.yaml"))


def _queues() -> list[tuple[str, dict[str, Any]]]:
    out = [(p.name, doc) for p in EXAMPLES for doc in load_documents(p.read_text())]
    out += [(f"chart:{o['metadata']['name']}", o) for o in render() if o["kind"] == "AgentQueue"]
    return out


QUEUES = _queues()


def test_examples_exist() -> None:
    assert len(EXAMPLES) >= 2
    assert {q["spec"]["queue"] for _, q in QUEUES} == {"high", "standard", "batch"}


@pytest.mark.parametrize("queue", [q for _, q in QUEUES], ids=[n for n, _ in QUEUES])
def test_agentqueue_is_valid_and_the_operator_can_run_it(queue: dict[str, Any]) -> None:
    assert queue["kind"] == "AgentQueue"
    assert validate(queue) == "crd"
    spec = AgentQueueSpec.of(queue["spec"])
    made = worker_deployment(queue["metadata"]["name"], spec, replicas=spec.replicas.min)
    validate(made)
    pod = made["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] > spec.worker.shutdown_timeout_seconds


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_apply_in_any_namespace(path: Path) -> None:
    """No example names a namespace (`kubectl apply -n` refuses an object naming another):
    each says in its comment how to apply it where you want it."""
    text = path.read_text()
    for doc in load_documents(text):
        assert "namespace" not in doc["metadata"], f"{path.name}: {doc['metadata']['name']}"
    assert "kubectl apply -n " in text and f"-f k8s/examples/{path.name}" in text


def test_batch_example_scales_to_zero_and_interactive_stays_warm() -> None:
    by_name = {q["metadata"]["name"]: q["spec"] for _, q in QUEUES}
    assert by_name["nightly-batch"]["scaleToZero"] is True
    assert by_name["nightly-batch"]["replicas"]["min"] == 0
    assert by_name["interactive"]["scaleToZero"] is False
    assert by_name["interactive"]["replicas"]["min"] >= 1


def test_an_invalid_example_would_be_caught() -> None:
    queue = QUEUES[0][1]
    broken = {**queue, "spec": {**queue["spec"], "queue": "urgent"}}
    with pytest.raises(SchemaError, match="urgent"):
        validate(broken)

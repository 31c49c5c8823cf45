"""The worker Deployment the operator applies: valid Kubernetes, and what the contract says."""

from __future__ import annotations

import kubernetes_validate
import pytest

from agentqueue.operator.deployment import (
    TEMPLATE_HASH,
    pod_template,
    template_hash,
    worker_deployment,
)
from agentqueue.operator.spec import AgentQueueSpec

K8S_VERSION = "1.30.0"


def spec(**worker: object) -> AgentQueueSpec:
    return AgentQueueSpec.of(
        {
            "queue": "batch",
            "worker": {
                "image": "agentqueue-worker:0.1.0",
                "concurrency": 16,
                "shutdownTimeoutSeconds": 40,
                "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}},
                "env": [
                    {"name": "AGENTQUEUE_LOG_FORMAT", "value": "json"},
                    {"name": "AGENTQUEUE_QUEUE", "value": "high"},  # ours wins
                ],
                "envFrom": [{"secretRef": {"name": "agentqueue"}}],
                "serviceAccountName": "agentqueue-worker",
                **worker,
            },
        }
    )


def test_it_is_a_valid_deployment() -> None:
    manifest = worker_deployment("batch", spec(), replicas=3)
    manifest["metadata"]["namespace"] = "agents"
    kubernetes_validate.validate(manifest, K8S_VERSION, strict=True)


def test_contract_fields() -> None:
    manifest = worker_deployment("nightly", spec(), replicas=3)
    assert manifest["metadata"]["name"] == "nightly-worker"
    labels = manifest["spec"]["template"]["metadata"]["labels"]
    assert labels == {
        "app.kubernetes.io/name": "agentqueue",
        "app.kubernetes.io/component": "worker",
        "agentqueue.io/queue": "nightly",
    }
    pod = manifest["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] == 45  # shutdown 40 + 5
    assert pod["serviceAccountName"] == "agentqueue-worker"
    (c,) = pod["containers"]
    env = [(e["name"], e.get("value")) for e in c["env"]]
    assert ("AGENTQUEUE_QUEUE", "batch") in env and ("AGENTQUEUE_QUEUE", "high") not in env
    assert ("AGENTQUEUE_THREADS", "16") in env
    assert ("AGENTQUEUE_SHUTDOWN_TIMEOUT", "40") in env
    assert ("AGENTQUEUE_LOG_FORMAT", "json") in env
    assert c["envFrom"] == [{"secretRef": {"name": "agentqueue"}}]
    sc = c["securityContext"]
    assert sc["runAsNonRoot"] and sc["runAsUser"] == 10001
    assert sc["readOnlyRootFilesystem"] and not sc["allowPrivilegeEscalation"]
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"}


def test_the_template_hash_follows_the_spec_not_the_replicas() -> None:
    a = worker_deployment("q", spec(), replicas=1)
    b = worker_deployment("q", spec(), replicas=9)
    c = worker_deployment("q", spec(image="agentqueue-worker:0.2.0"), replicas=1)
    assert (
        a["metadata"]["annotations"][TEMPLATE_HASH] == b["metadata"]["annotations"][TEMPLATE_HASH]
    )
    assert (
        a["metadata"]["annotations"][TEMPLATE_HASH] != c["metadata"]["annotations"][TEMPLATE_HASH]
    )
    assert template_hash(pod_template("q", spec())) == a["metadata"]["annotations"][TEMPLATE_HASH]


def test_spec_defaults_and_refusals() -> None:
    minimal = AgentQueueSpec.of({"queue": "high", "worker": {"image": "w"}})
    assert minimal.limiter_priority.value == "high"
    assert (minimal.replicas.min, minimal.replicas.max) == (0, 10)
    assert minimal.scale_down.stabilization_seconds == 300
    assert minimal.worker.shutdown_timeout_seconds == 25
    with pytest.raises(ValueError):
        AgentQueueSpec.of(
            {"queue": "high", "worker": {"image": "w"}, "replicas": {"min": 3, "max": 2}}
        )
    with pytest.raises(ValueError):
        AgentQueueSpec.of({"queue": "urgent", "worker": {"image": "w"}})

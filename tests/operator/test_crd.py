"""The AgentQueue CRD: what the contract fixes, and a schema that accepts good objects and
refuses bad ones (checked with jsonschema on the OpenAPI v3 schema, as far as the two
dialects agree; the API server's CEL rule is checked by reading it)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

CRD_PATH = Path(__file__).parents[2] / "charts/agentqueue/crds/agentqueues.agentqueue.io.yaml"


@pytest.fixture(scope="module")
def crd() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(CRD_PATH.read_text())
    return loaded


def _jsonschema(node: Any) -> Any:
    """OpenAPI v3 (Kubernetes flavour) to JSON Schema: nullable, drop x-kubernetes-*."""
    if isinstance(node, list):
        return [_jsonschema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _jsonschema(v) for k, v in node.items() if not k.startswith("x-kubernetes-")}
    if out.pop("nullable", False) and "type" in out:
        out["type"] = [out["type"], "null"]
    return out


@pytest.fixture(scope="module")
def validator(crd: dict[str, Any]) -> jsonschema.Draft7Validator:
    (version,) = crd["spec"]["versions"]
    return jsonschema.Draft7Validator(_jsonschema(version["schema"]["openAPIV3Schema"]))


def sample() -> dict[str, Any]:
    return yaml.safe_load(
        """
apiVersion: agentqueue.io/v1alpha1
kind: AgentQueue
metadata: {name: standard}
spec:
  queue: standard
  worker:
    image: agentqueue-worker:0.1.0
    concurrency: 8
    env: [{name: AGENTQUEUE_LOG_FORMAT, value: json}]
    envFrom: [{secretRef: {name: agentqueue}}]
    shutdownTimeoutSeconds: 25
  replicas: {min: 0, max: 10}
  targetMessagesPerReplica: 16
  drainTimeSeconds: 60
  budgets: ["anthropic:claude-sonnet-4-6:default"]
  tokensPerMinutePerReplica: 0
  scaleDown: {stabilizationSeconds: 300}
  scaleToZero: true
status:
  depth: {ready: 3, inFlight: 8, delayed: 1, dead: 0}
  desiredReplicas: 2
  currentReplicas: 1
  headroom: {availableTokens: 1000, sustainableTpm: 90000, budgetCapReplicas: null}
  conditions:
    - {type: Ready, status: "True", reason: Reconciled, message: ok,
       lastTransitionTime: "2026-01-01T00:00:00Z"}
"""
    )


def test_the_contracts_names_and_columns(crd: dict[str, Any]) -> None:
    kubernetes_validate.validate(crd, "1.30.0", strict=True)
    assert crd["metadata"]["name"] == "agentqueues.agentqueue.io"
    spec = crd["spec"]
    assert spec["group"] == "agentqueue.io" and spec["scope"] == "Namespaced"
    assert spec["names"] == {
        "kind": "AgentQueue",
        "listKind": "AgentQueueList",
        "plural": "agentqueues",
        "singular": "agentqueue",
        "shortNames": ["aq"],
    }
    (version,) = spec["versions"]
    assert version["name"] == "v1alpha1" and version["served"] and version["storage"]
    assert version["subresources"] == {"status": {}}
    columns = [c["name"] for c in version["additionalPrinterColumns"]]
    assert columns == [
        "Queue",
        "Ready",
        "Reason",
        "Queued",
        "InFlight",
        "Delayed",
        "Desired",
        "Current",
        "Headroom",
        "Age",
        "Message",
    ]
    rules = version["schema"]["openAPIV3Schema"]["properties"]["spec"]["x-kubernetes-validations"]
    assert any("self.replicas.min <= self.replicas.max" in r["rule"] for r in rules)


def test_a_good_object_passes(validator: jsonschema.Draft7Validator) -> None:
    validator.validate(sample())


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("spec", "queue"), "urgent"),
        (("spec", "worker", "concurrency"), 0),
        (("spec", "worker", "concurrency"), 257),
        (("spec", "worker", "image"), ""),
        (("spec", "replicas", "max"), 0),
        (("spec", "replicas", "min"), -1),
        (("spec", "targetMessagesPerReplica"), 0),
        (("spec", "priority"), "vip"),
        (("spec", "scaleDown", "stabilizationSeconds"), -5),
        (("spec", "worker", "imagePullPolicy"), "Sometimes"),
    ],
)
def test_bad_values_are_refused(
    validator: jsonschema.Draft7Validator, path: tuple[str, ...], value: Any
) -> None:
    body = copy.deepcopy(sample())
    node = body
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    assert not validator.is_valid(body)


@pytest.mark.parametrize("missing", ["queue", "worker"])
def test_required_fields(validator: jsonschema.Draft7Validator, missing: str) -> None:
    body = sample()
    del body["spec"][missing]
    assert not validator.is_valid(body)

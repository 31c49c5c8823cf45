"""The chart lints and renders with real Helm, and every object it makes is schema-valid.

Run for the default values and for every ``charts/agentqueue/ci/*-values.yaml`` scenario.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import helm_python as helm
import pytest

from tests.charts.rendering import SCENARIOS, crds, render, scenario_values
from tests.k8s.validation import (
    CHART,
    KUBE_VERSION,
    UNCHECKED_KINDS,
    SchemaError,
    validate,
    validate_builtin,
)

CASES = [None, *SCENARIOS]
IDS = ["default", *(p.name.removesuffix("-values.yaml") for p in SCENARIOS)]


def test_there_are_scenarios() -> None:
    assert len(SCENARIOS) >= 5, SCENARIOS


@pytest.mark.parametrize("scenario", CASES, ids=IDS)
def test_lints_strictly(scenario: Path | None) -> None:
    report = helm.lint(
        CHART, scenario_values(scenario), strict=True, kube_version=f"v{KUBE_VERSION}"
    )
    # Severity 1 is information (e.g. "icon is recommended"); 2 warning, 3 error.
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert not problems and not report["errors"], report


@pytest.mark.slow
@pytest.mark.parametrize("scenario", CASES, ids=IDS)
def test_every_object_is_schema_valid(scenario: Path | None) -> None:
    objs = render(scenario_values(scenario))
    assert len(objs) > 10
    how = {f"{o['kind']}/{o['metadata']['name']}": validate(o) for o in objs}
    # Only the Prometheus Operator's kinds go unchecked (test_monitoring checks them by hand).
    unchecked = {k.split("/")[0] for k, v in how.items() if v.startswith("unchecked")}
    assert unchecked <= set(UNCHECKED_KINDS), how
    names = [(o["kind"], o["metadata"]["name"]) for o in objs]
    assert len(names) == len(set(names)), "two objects share a kind and name"


def test_crds_are_valid_customresourcedefinitions() -> None:
    objs = crds()
    assert {o["metadata"]["name"] for o in objs} == {
        "agentqueues.agentqueue.io",
        "kopfpeerings.kopf.dev",
        "clusterkopfpeerings.kopf.dev",
    }
    for crd in objs:
        validate_builtin(crd)


def test_the_validators_refuse_what_they_should() -> None:
    """Negative controls: a checker that accepts everything would make the tests above moot."""
    objs = render()
    deployment = next(o for o in objs if o["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = 3
    with pytest.raises(SchemaError):
        validate(deployment)
    deployment["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = "Always"
    deployment["spec"]["replicass"] = 2
    with pytest.raises(SchemaError, match="replicass"):
        validate(deployment)

    queue = next(o for o in objs if o["kind"] == "AgentQueue")
    for bad in (
        {"queue": "urgent"},
        {"worker": {"image": "x", "concurrency": 0}},
        {"replicas": {"min": 3, "max": 1}},
        {"scaleToZero": "yes"},
        {"unknownField": 1},
    ):
        with pytest.raises(SchemaError):
            validate({**queue, "spec": {**queue["spec"], **bad}})


BAD_VALUES: dict[str, tuple[dict[str, Any], str]] = {
    "negative replicas": ({"gateway": {"replicaCount": -1}}, "replicaCount"),
    "replicas of the wrong type": ({"limiter": {"replicaCount": "two"}}, "replicaCount"),
    "unknown queue": ({"queues": {"urgent": {"enabled": True}}}, "urgent"),
    "unknown priority": ({"queues": {"high": {"priority": "urgent"}}}, "priority"),
    "unknown top-level key": ({"gatway": {}}, "gatway"),
    "misspelt nested key": ({"redis": {"persistance": {"enabled": False}}}, "persistance"),
    "concurrency above 256": ({"queues": {"batch": {"concurrency": 1000}}}, "concurrency"),
    "unknown provider in order": ({"providers": {"order": ["anthropic", "acme"]}}, "order"),
    "bad pull policy": ({"image": {"pullPolicy": "Sometimes"}}, "pullPolicy"),
    "short API key": ({"gateway": {"auth": {"apiKeys": {"team": "short"}}}}, "apiKeys"),
    "budget without tpm": ({"budgets": {"anthropic:claude-sonnet-4-6": {"rpm": 10}}}, "tpm"),
    "budget of an unknown provider": ({"budgets": {"acme:model": {"rpm": 1, "tpm": 1}}}, "acme"),
    "external Redis without URL": ({"redis": {"enabled": False}}, "external"),
    "operator scope": ({"operator": {"scope": "everywhere"}}, "scope"),
    "simulator error rate above 1": ({"simulator": {"errorRate": 2}}, "errorRate"),
    "redis URL scheme": (
        {"redis": {"enabled": False, "external": {"url": "http://x"}}},
        "url",
    ),
    "fewer than 3 Sentinel Pods": (
        {"redis": {"sentinel": {"enabled": True, "replicas": 2}}},
        "replicas",
    ),
    "Sentinel not host:port": (
        {"redis": {"enabled": False, "external": {"sentinels": ["sentinel-0"]}}},
        "sentinels",
    ),
    "StorageClass not a name": (
        {"redis": {"persistence": {"storageClass": "Fast SSD"}}},
        "storageClass",
    ),
    "peering not a name": ({"operator": {"peering": "Agent_Queue"}}, "peering"),
    "password Secret without key": (
        {"redis": {"enabled": False, "external": {"host": "r", "passwordSecret": {"key": ""}}}},
        "key",
    ),
    "interactive gateway enabled not a bool": (
        {"gateway": {"interactive": {"enabled": "yes"}}},
        "enabled",
    ),
    "interactive gateway without replicas": (
        {"gateway": {"interactive": {"enabled": True, "replicaCount": 0}}},
        "replicaCount",
    ),
    "interactive gateway misspelt key": (
        {"gateway": {"interactive": {"enabled": True, "replicas": 2}}},
        "replicas",
    ),
    "interactive gateway Service type": (
        {"gateway": {"interactive": {"service": {"type": "Ingress"}}}},
        "type",
    ),
}


@pytest.mark.parametrize("values,needle", BAD_VALUES.values(), ids=BAD_VALUES.keys())
def test_schema_rejects_bad_values(values: dict[str, Any], needle: str) -> None:
    with pytest.raises(helm.HelmValuesError, match=needle):
        render(values)


BAD_COMBINATIONS: dict[str, tuple[dict[str, Any], str]] = {
    "queue min above max": (
        {"queues": {"high": {"replicas": {"min": 5, "max": 2}}}},
        "replicas.min must not exceed",
    ),
    "HPA min above max": (
        {"gateway": {"autoscaling": {"enabled": True, "minReplicas": 5, "maxReplicas": 2}}},
        "minReplicas must not exceed",
    ),
    "interactive HPA min above max": (
        {
            "gateway": {
                "interactive": {
                    "enabled": True,
                    "autoscaling": {"enabled": True, "minReplicas": 5, "maxReplicas": 2},
                }
            }
        },
        "gateway.interactive.autoscaling.minReplicas must not exceed",
    ),
    "helm test on a disabled queue": (
        {"queues": {"high": {"enabled": False}}},
        "tests.priority",
    ),
    "Sentinel quorum above the Sentinels": (
        {"redis": {"sentinel": {"enabled": True, "replicas": 3, "quorum": 4}}},
        "quorum must not exceed",
    ),
}


@pytest.mark.parametrize("values,needle", BAD_COMBINATIONS.values(), ids=BAD_COMBINATIONS.keys())
def test_templates_refuse_inconsistent_values(values: dict[str, Any], needle: str) -> None:
    with pytest.raises(helm.HelmRenderError, match=needle):
        render(values)

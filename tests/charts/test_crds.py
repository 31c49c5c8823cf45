"""The chart's CRDs: how they are installed and upgraded, and what `kubectl get aq` shows.

Upgrade path (docs/kubernetes.md, "Upgrade"): the CRDs stay in ``crds/``, which Helm installs
on the first ``helm install`` and never upgrades or deletes, and are applied with
``kubectl apply --server-side --force-conflicts -f charts/agentqueue/crds/`` before each
``helm upgrade``. So they must be plain manifests (``crds/`` is not templated), each valid,
and never also rendered by a template (Helm would then own, upgrade and delete them).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.charts.rendering import SCENARIOS, crds, render, render_files, scenario_values
from tests.k8s.validation import AGENTQUEUE_CRD, CRD_DIR, REPO, load_documents, validate_builtin

UPGRADE_COMMAND = "kubectl apply --server-side --force-conflicts -f charts/agentqueue/crds/"
READY = '.status.conditions[?(@.type=="Ready")]'


def _version() -> dict[str, Any]:
    (crd,) = load_documents(AGENTQUEUE_CRD.read_text())
    (version,) = crd["spec"]["versions"]
    return version


def _columns() -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in _version()["additionalPrinterColumns"]}


def test_crds_are_plain_manifests_one_per_file_and_valid() -> None:
    files = sorted(CRD_DIR.glob("*.yaml"))
    assert [p.name for p in files] == [
        "agentqueues.agentqueue.io.yaml",
        "clusterkopfpeerings.kopf.dev.yaml",
        "kopfpeerings.kopf.dev.yaml",
    ]
    for path in files:
        text = path.read_text()
        assert "{{" not in text, f"{path.name}: crds/ is not templated, nor is kubectl apply"
        (crd,) = load_documents(text)
        assert crd["kind"] == "CustomResourceDefinition"
        assert path.name == f"{crd['metadata']['name']}.yaml"
        annotations = crd["metadata"].get("annotations") or {}
        assert not [a for a in annotations if a.startswith("helm.sh/")], path.name
        validate_builtin(crd)
    assert len(crds()) == len(files)  # what Helm itself installs from crds/


@pytest.mark.parametrize(
    "scenario", [None, *SCENARIOS], ids=["default", *(p.name for p in SCENARIOS)]
)
def test_no_template_renders_a_crd(scenario: Any) -> None:
    """CRDs as templates would tie them to one release (a second release's install fails on
    their ownership) and `helm uninstall` would delete every AgentQueue in the cluster."""
    assert not [o for o in render(scenario_values(scenario)) if o["kind"].endswith("Definition")]


def test_the_upgrade_step_is_documented_where_people_look() -> None:
    docs = (REPO / "docs" / "kubernetes.md").read_text()
    assert UPGRADE_COMMAND in docs
    assert (REPO / UPGRADE_COMMAND.split(" -f ")[1]).is_dir()
    upgrade = render_files({}, is_install=False, is_upgrade=True)["agentqueue/templates/NOTES.txt"]
    assert UPGRADE_COMMAND in upgrade


def test_printer_columns_show_readiness_and_depth_apart() -> None:
    columns = _columns()
    assert list(columns) == [
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
    assert columns["Ready"] | {"description": ""} == {
        "name": "Ready",
        "type": "string",
        "jsonPath": f"{READY}.status",
        "description": "",
    }
    assert columns["Reason"]["jsonPath"] == f"{READY}.reason"
    assert columns["Reason"]["type"] == "string"
    assert columns["Queued"]["jsonPath"] == ".status.depth.ready"
    assert columns["Queued"]["type"] == "integer"
    assert columns["Message"]["jsonPath"] == f"{READY}.message"
    assert columns["Message"]["priority"] == 1  # long: under -o wide only
    for column in columns.values():
        if column["name"] != "Message":
            assert column.get("priority", 0) == 0, column["name"]  # shown without -o wide


_STEP = re.compile(r'\.([A-Za-z]+)|\[\?\(@\.([A-Za-z]+)=="([^"]*)"\)\]')


def _steps(path: str) -> list[tuple[str, ...]]:
    """A printer column's JSONPath as steps: ("field", name) or ("where", field, value)."""
    steps, at = [], 0
    while at < len(path):
        match = _STEP.match(path, at)
        assert match, f"unsupported JSONPath {path!r} at {at}"
        steps.append(("field", match[1]) if match[1] else ("where", match[2], match[3]))
        at = match.end()
    return steps


def _schema_at(path: str) -> dict[str, Any]:
    node = _version()["schema"]["openAPIV3Schema"]
    for step in _steps(path):
        if step[0] == "field":
            node = node["properties"][step[1]]
        else:
            assert node["type"] == "array", path
            node = node["items"]
            assert step[1] in node["properties"], path
            if "enum" in node["properties"][step[1]]:
                assert step[2] in node["properties"][step[1]]["enum"], path
    return node


def _evaluate(obj: Any, path: str) -> Any:
    """What kubectl prints for a column (None when the path finds nothing)."""
    for step in _steps(path):
        if obj is None:
            return None
        if step[0] == "field":
            obj = obj.get(step[1]) if isinstance(obj, dict) else None
        else:
            obj = next((i for i in obj if i.get(step[1]) == step[2]), None)
    return obj


def test_every_column_reads_a_field_the_schema_declares_with_its_type() -> None:
    kinds = {"string": "string", "integer": "integer", "date": "string"}
    for column in _columns().values():
        if column["jsonPath"].startswith(".metadata."):
            continue
        node = _schema_at(column["jsonPath"])
        assert node["type"] == kinds[column["type"]], column["name"]


def test_columns_show_the_ready_condition_the_operator_writes() -> None:
    queue = {
        "spec": {"queue": "standard"},
        "status": {
            "depth": {"ready": 7, "inFlight": 2, "delayed": 0},
            "conditions": [
                {"type": "Scaling", "status": "True", "reason": "ScalingUp"},
                {"type": "Ready", "status": "False", "reason": "KubernetesApiError"},
            ],
        },
    }
    shown = {name: _evaluate(queue, c["jsonPath"]) for name, c in _columns().items()}
    assert shown["Ready"] == "False" and shown["Reason"] == "KubernetesApiError"
    assert shown["Queued"] == 7 and shown["InFlight"] == 2
    assert _evaluate({"status": {}}, _columns()["Ready"]["jsonPath"]) is None  # not yet known

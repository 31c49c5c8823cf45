"""Schema checks for Kubernetes objects, shared by the chart and the manifest tests.

Built-in kinds are checked with ``kubernetes-validate`` in strict mode (unknown fields are
errors, as with ``kubectl apply``'s default server-side field validation). Custom resources
are checked against their CRD's ``openAPIV3Schema``, turned into a JSON Schema with the same
strictness: an object that declares properties admits no others unless it says
``x-kubernetes-preserve-unknown-fields``.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "agentqueue"
CRD_DIR = CHART / "crds"
AGENTQUEUE_CRD = CRD_DIR / "agentqueues.agentqueue.io.yaml"

#: The Kubernetes version whose schemas the objects must satisfy (kubernetes-validate ships it).
KUBE_VERSION = "1.33.0"

#: Kinds no schema here knows, each with the reason it is only checked by hand.
UNCHECKED_KINDS = {
    "ServiceMonitor": "the Prometheus Operator's CRD is not vendored here",
    "PodMonitor": "the Prometheus Operator's CRD is not vendored here",
    "PrometheusRule": "the Prometheus Operator's CRD is not vendored here (promtool checks it)",
}


class SchemaError(AssertionError):
    """An object does not satisfy its schema."""


def load_documents(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def _strict(node: Any) -> Any:
    """An OpenAPI v3 structural schema as a JSON Schema that refuses unknown fields."""
    if isinstance(node, list):
        return [_strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _strict(value) for key, value in node.items()}
    if out.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    if out.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    preserve = out.get("x-kubernetes-preserve-unknown-fields")
    if out.get("type") == "object" and "properties" in out and not preserve:
        out.setdefault("additionalProperties", False)
    return out


@functools.cache
def _crd_validators() -> dict[tuple[str, str], tuple[jsonschema.Validator, dict[str, Any]]]:
    """(apiVersion, kind) -> (validator, CRD version entry) for every CRD in the chart."""
    validators = {}
    for path in sorted(CRD_DIR.glob("*.yaml")):
        for crd in load_documents(path.read_text()):
            group = crd["spec"]["group"]
            for version in crd["spec"]["versions"]:
                schema = _strict(copy.deepcopy(version["schema"]["openAPIV3Schema"]))
                # The API server always admits these at the root, declared or not.
                root = schema.setdefault("properties", {})
                root.setdefault("apiVersion", {"type": "string"})
                root.setdefault("kind", {"type": "string"})
                root.setdefault("metadata", {"type": "object"})
                jsonschema.Draft7Validator.check_schema(schema)
                key = (f"{group}/{version['name']}", crd["spec"]["names"]["kind"])
                validators[key] = (jsonschema.Draft7Validator(schema), version)
    return validators


def custom_kinds() -> set[tuple[str, str]]:
    return set(_crd_validators())


def _check_agentqueue_rules(obj: dict[str, Any]) -> None:
    """The CRD's CEL rule (x-kubernetes-validations), which jsonschema cannot run."""
    replicas = obj.get("spec", {}).get("replicas", {})
    if "min" in replicas and "max" in replicas and replicas["min"] > replicas["max"]:
        raise SchemaError("replicas.min must not exceed replicas.max")


def validate_custom(obj: dict[str, Any]) -> None:
    key = (obj["apiVersion"], obj["kind"])
    validator, _ = _crd_validators()[key]
    errors = sorted(validator.iter_errors(obj), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in errors]
        raise SchemaError(f"{obj['kind']}/{obj['metadata'].get('name')}: " + "; ".join(lines))
    if obj["kind"] == "AgentQueue":
        _check_agentqueue_rules(obj)


def validate_builtin(obj: dict[str, Any]) -> None:
    try:
        kubernetes_validate.validate(obj, KUBE_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        path = ".".join(str(p) for p in exc.path)
        raise SchemaError(
            f"{obj['kind']}/{obj['metadata'].get('name')}: {path}: {exc.message}"
        ) from None


def validate(obj: dict[str, Any]) -> str:
    """Check one object; returns how: "builtin", "crd", or "unchecked: <reason>"."""
    assert obj.get("apiVersion") and obj.get("kind") and obj.get("metadata", {}).get("name"), obj
    if (obj["apiVersion"], obj["kind"]) in _crd_validators():
        validate_custom(obj)
        return "crd"
    if obj["kind"] in UNCHECKED_KINDS:
        return f"unchecked: {UNCHECKED_KINDS[obj['kind']]}"
    try:
        validate_builtin(obj)
    except kubernetes_validate.SchemaNotFoundError:
        raise SchemaError(f"no schema for {obj['apiVersion']} {obj['kind']}") from None
    return "builtin"

"""values.yaml documents every key, and values.schema.json describes every key it has."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import pytest
import yaml

from tests.k8s.validation import CHART

KEY = re.compile(r"^(\s*)([A-Za-z_][\w.-]*|\"[^\"]+\"):")


def test_every_key_has_a_comment_above_it() -> None:
    lines = (CHART / "values.yaml").read_text().splitlines()
    undocumented = []
    for number, line in enumerate(lines):
        if not KEY.match(line):
            continue
        above = next((p for p in reversed(lines[:number]) if p.strip()), "")
        if not above.strip().startswith("#"):
            undocumented.append(f"{number + 1}: {line.strip()}")
    assert not undocumented, undocumented


def _walk(values: Any, schema: dict[str, Any], root: dict[str, Any], path: str) -> list[str]:
    if "$ref" in schema:
        schema = root["definitions"][schema["$ref"].rsplit("/", 1)[-1]]
    if not isinstance(values, dict) or "properties" not in schema:
        return []
    missing = [f"{path}.{k}" for k in values if k not in schema["properties"]]
    for key, value in values.items():
        if key in schema["properties"]:
            missing += _walk(value, schema["properties"][key], root, f"{path}.{key}")
    return missing


def test_schema_is_draft7_strict_and_covers_every_default() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    jsonschema.Draft7Validator.check_schema(schema)
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    jsonschema.Draft7Validator(schema).validate(values)
    assert schema["additionalProperties"] is False
    assert not _walk(values, schema, schema, "")


def _validator() -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(json.loads((CHART / "values.schema.json").read_text()))


def _with_interactive(interactive: dict[str, Any]) -> dict[str, Any]:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    values["gateway"]["interactive"].update(interactive)
    return dict(values)


def test_schema_accepts_every_key_of_the_interactive_gateway() -> None:
    interactive = {
        "enabled": True,
        "replicaCount": 3,
        "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
        "service": {"type": "LoadBalancer", "port": 80},
        "pdb": {"enabled": True, "maxUnavailable": "25%"},
        "autoscaling": {
            "enabled": True,
            "minReplicas": 2,
            "maxReplicas": 8,
            "targetCPUUtilizationPercentage": 60,
        },
    }
    _validator().validate(_with_interactive(interactive))
    _validator().validate(_with_interactive({"resources": {}}))  # empty: the gateway's


@pytest.mark.parametrize(
    "interactive",
    [
        {"enabled": "yes"},
        {"enabled": None},
        {"replicaCount": "two"},
        {"replicaCount": 0},
        {"replicas": 2},
        {"resources": {"requests": {"cpu": "lots"}}},
        {"resources": {"request": {"cpu": "1"}}},
        {"service": {"type": "Ingress", "port": 80}},
        {"service": {"type": "ClusterIP", "port": 70000}},
        {"pdb": {"maxUnavailable": "half"}},
        {"autoscaling": {"enabled": "true"}},
        {"autoscaling": {"targetCPUUtilizationPercentage": 150}},
    ],
)
def test_schema_refuses_wrong_interactive_gateway_values(interactive: dict[str, Any]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        _validator().validate(_with_interactive(interactive))

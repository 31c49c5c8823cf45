"""skaffold.yaml builds every image from an existing Dockerfile, and the chart uses each one."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from tests.charts.rendering import chart, render
from tests.k8s.validation import CHART, REPO

SKAFFOLD = yaml.safe_load((REPO / "skaffold.yaml").read_text())
ARTIFACTS = SKAFFOLD["build"]["artifacts"]
RELEASE = SKAFFOLD["deploy"]["helm"]["releases"][0]


def test_config_version_and_chart() -> None:
    assert re.fullmatch(r"skaffold/v4beta\d+", SKAFFOLD["apiVersion"])
    assert SKAFFOLD["kind"] == "Config"
    assert (REPO / RELEASE["chartPath"] / "Chart.yaml").is_file()


def test_every_service_has_an_artifact_and_every_dockerfile_exists() -> None:
    images = {a["image"] for a in ARTIFACTS}
    assert images == {
        f"agentqueue-{s}" for s in ("gateway", "worker", "limiter", "operator", "simulator")
    }
    for artifact in ARTIFACTS:
        context = REPO / artifact.get("context", ".")
        assert context == REPO  # the Dockerfiles copy pyproject.toml and services/
        assert (context / artifact["docker"]["dockerfile"]).is_file()


def _set(values: dict[str, Any], dotted: str, value: str) -> None:
    *parents, leaf = dotted.split(".")
    for key in parents:
        values = values.setdefault(key, {})
    values[leaf] = value


def test_every_built_image_is_consumed_by_the_chart() -> None:
    templates = RELEASE["setValueTemplates"]
    defaults = chart().values
    values: dict[str, Any] = {}
    for artifact in ARTIFACTS:
        var = artifact["image"].replace("-", "_").replace("/", "_")
        keys = {k: v for k, v in templates.items() if var in v}
        assert set(keys.values()) == {f"{{{{.IMAGE_REPO_{var}}}}}", f"{{{{.IMAGE_TAG_{var}}}}}"}
        for key, template in keys.items():
            node = defaults
            for part in key.split("."):
                node = node[part]  # the key exists in the chart's values
            # What skaffold would substitute, e.g. for a local registry.
            value = "localhost:5000/" + artifact["image"] if "REPO" in template else "abc123"
            _set(values, key, value)
    rendered = repr(render(values))
    for artifact in ARTIFACTS:
        assert f"localhost:5000/{artifact['image']}:abc123" in rendered, artifact["image"]


@pytest.mark.parametrize("profile", SKAFFOLD["profiles"], ids=lambda p: p["name"])
def test_profiles_add_values_files_that_render(profile: dict[str, Any]) -> None:
    files = [p["value"] for p in profile["patches"] if p["path"].endswith("valuesFiles/-")]
    assert files
    for name in files:
        path = REPO / name
        assert path.parent == CHART / "ci"  # so the chart tests render and lint it too
        render(yaml.safe_load(path.read_text()))


def test_profiles_dev_and_simulator_exist() -> None:
    assert {p["name"] for p in SKAFFOLD["profiles"]} >= {"dev", "simulator"}

"""skaffold.yaml builds every image from a target of the one Dockerfile; the chart uses each."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from tests.charts.rendering import chart, render
from tests.k8s.dockerfile import parse
from tests.k8s.validation import CHART, REPO

SKAFFOLD = yaml.safe_load((REPO / "skaffold.yaml").read_text())
ARTIFACTS = SKAFFOLD["build"]["artifacts"]
RELEASE = SKAFFOLD["deploy"]["helm"]["releases"][0]
SERVICES = ("gateway", "worker", "limiter", "operator", "simulator")


def test_config_version_and_chart() -> None:
    assert re.fullmatch(r"skaffold/v4beta\d+", SKAFFOLD["apiVersion"])
    assert SKAFFOLD["kind"] == "Config"
    assert (REPO / RELEASE["chartPath"] / "Chart.yaml").is_file()


def test_every_service_is_an_artifact_built_from_its_dockerfile_target() -> None:
    images = {a["image"] for a in ARTIFACTS}
    assert images == {f"agentqueue-{s}" for s in SERVICES}
    _, stages = parse(REPO / "Dockerfile")
    targets = {s.name for s in stages if s.name}
    for artifact in ARTIFACTS:
        context = REPO / artifact.get("context", ".")
        assert context == REPO  # the Dockerfile copies pyproject.toml, the lock and services/
        docker = artifact["docker"]
        assert docker["dockerfile"] == "Dockerfile"
        assert (context / docker["dockerfile"]).is_file()
        # agentqueue-<service> from the target <service>, which the Dockerfile has.
        assert docker["target"] in targets, docker
        assert artifact["image"] == f"agentqueue-{docker['target']}"


def test_the_chart_defaults_name_the_images_skaffold_builds() -> None:
    """<service>.image.repository defaults to the artifact's name (and k8s/base, rendered
    from those defaults, uses the same names), so an image built by hand with
    `docker build --target <service> -t agentqueue-<service>:<tag> .` is the one the chart
    and the manifests run."""
    values = chart().values
    for artifact in ARTIFACTS:
        service = artifact["docker"]["target"]
        assert values[service]["image"]["repository"] == artifact["image"]
        assert RELEASE["setValueTemplates"][f"{service}.image.repository"] == (
            f"{{{{.IMAGE_REPO_{artifact['image'].replace('-', '_')}}}}}"
        )


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

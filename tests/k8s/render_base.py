"""Write ``k8s/base`` from the chart's default rendering: one source of truth for both.
Also the kustomize components under ``k8s/components``: what a chart option adds to that
rendering (``gateway.interactive`` → ``k8s/components/interactive-gateway``).

``python -m tests.k8s.render_base`` regenerates the files; ``tests/k8s/test_manifests.py``
fails while they differ from what this produces. Helm's own labels go, the chart's generated
Secrets are left to the base's secretGenerator (placeholders), and the ``helm test`` Pod is
Helm-only. Rendered for namespace ``default``: kustomize's namespace transformer rewrites
RoleBinding subjects from ``default`` to an overlay's namespace.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import yaml

from tests.k8s.validation import CRD_DIR, REPO

BASE = REPO / "k8s" / "base"
COMPONENTS_DIR = REPO / "k8s" / "components"
RELEASE = "agentqueue"
NAMESPACE = "default"
HELM_LABELS = ("helm.sh/chart", "app.kubernetes.io/managed-by")
#: component label -> file in k8s/base
FILES = {
    "config": "config.yaml",
    "redis": "redis.yaml",
    "gateway": "gateway.yaml",
    "limiter": "limiter.yaml",
    "operator": "operator.yaml",
    "simulator": "simulator.yaml",
    "queue": "agentqueues.yaml",
}
#: component directory under k8s/components -> (the chart values that add it, its file)
COMPONENTS = {
    "interactive-gateway": (
        {"gateway": {"interactive": {"enabled": True}}},
        "gateway-interactive.yaml",
    ),
}
HEADER = (
    "# Generated from charts/agentqueue ({values}) by `python -m tests.k8s.render_base`.\n"
    "# Change the chart, then regenerate: tests/k8s/test_manifests.py fails while they differ.\n"
)


def _strip_helm_metadata(node: Any) -> None:
    """Helm's labels, and the config checksums that make Helm roll Pods (kustomize can't)."""
    if isinstance(node, dict):
        labels = node.get("labels")
        if isinstance(labels, dict):
            for key in HELM_LABELS:
                labels.pop(key, None)
        annotations = node.get("annotations")
        if isinstance(annotations, dict):
            for key in [k for k in annotations if k.startswith("checksum/")]:
                del annotations[key]
            if not annotations:
                del node["annotations"]
        for value in node.values():
            _strip_helm_metadata(value)
    elif isinstance(node, list):
        for item in node:
            _strip_helm_metadata(item)


def _plain_objects(values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The chart's objects for ``values``, less what Helm alone makes (its generated
    Secrets, left to a secretGenerator; its hooks) and Helm's own metadata."""
    from tests.charts.rendering import render  # the chart tests' renderer

    objs = []
    for obj in render(values, name=RELEASE, namespace=NAMESPACE):
        if obj["kind"] == "Secret":
            continue  # from the kustomization's secretGenerator
        if "helm.sh/hook" in obj["metadata"].get("annotations", {}):
            continue
        _strip_helm_metadata(obj)
        objs.append(obj)
    return objs


def base_objects() -> dict[str, list[dict[str, Any]]]:
    """File name -> objects, in the chart's order."""
    files: dict[str, list[dict[str, Any]]] = {name: [] for name in FILES.values()}
    for obj in _plain_objects():
        component = obj["metadata"]["labels"]["app.kubernetes.io/component"]
        files[FILES[component]].append(obj)
    return files


def component_objects(values: dict[str, Any]) -> list[dict[str, Any]]:
    """What ``values`` add to the default rendering (and nothing else may change)."""

    def by_name(objs: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
        return {(o["kind"], o["metadata"]["name"]): o for o in objs}

    default, chosen = by_name(_plain_objects()), by_name(_plain_objects(values))
    changed = [k for k in default if chosen.get(k) != default[k]]
    assert not changed, f"{values} changes {changed}: a component can only add objects"
    return [o for k, o in chosen.items() if k not in default]


def _text(objs: list[dict[str, Any]], values: str = "default values") -> str:
    docs = [yaml.safe_dump(o, sort_keys=False, width=100) for o in objs]
    return HEADER.format(values=values) + "---\n" + "---\n".join(docs)


def render_text() -> dict[str, str]:
    """File name (relative to k8s/base) -> content."""
    out = {name: _text(objs) for name, objs in base_objects().items()}
    for crd in sorted(CRD_DIR.glob("*.yaml")):
        out[f"crds/{crd.name}"] = crd.read_text()
    return out


def render_components() -> dict[str, str]:
    """File name (relative to k8s/components) -> content; each directory's
    kustomization.yaml is written by hand."""
    return {
        f"{directory}/{name}": _text(component_objects(values), f"what {json.dumps(values)} adds")
        for directory, (values, name) in COMPONENTS.items()
    }


def main() -> None:
    for name, text in render_text().items():
        path = BASE / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if name.startswith("crds/"):
            shutil.copyfile(CRD_DIR / Path(name).name, path)  # byte for byte
        else:
            path.write_text(text)
        print(f"wrote {path.relative_to(REPO)}")
    for name, text in render_components().items():
        path = COMPONENTS_DIR / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"wrote {path.relative_to(REPO)}")


if __name__ == "__main__":
    main()

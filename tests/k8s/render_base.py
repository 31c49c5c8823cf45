"""Write ``k8s/base`` from the chart's default rendering: one source of truth for both.

``python -m tests.k8s.render_base`` regenerates the files; ``tests/k8s/test_manifests.py``
fails while they differ from what this produces. Helm's own labels go, the chart's generated
Secrets are left to the base's secretGenerator (placeholders), and the ``helm test`` Pod is
Helm-only. Rendered for namespace ``default``: kustomize's namespace transformer rewrites
RoleBinding subjects from ``default`` to an overlay's namespace.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from tests.k8s.validation import CRD_DIR, REPO

BASE = REPO / "k8s" / "base"
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
HEADER = (
    "# Generated from charts/agentqueue (default values) by `python -m tests.k8s.render_base`.\n"
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


def base_objects() -> dict[str, list[dict[str, Any]]]:
    """File name -> objects, in the chart's order."""
    from tests.charts.rendering import render  # the chart tests' renderer

    files: dict[str, list[dict[str, Any]]] = {name: [] for name in FILES.values()}
    for obj in render(name=RELEASE, namespace=NAMESPACE):
        if obj["kind"] == "Secret":
            continue  # from the kustomization's secretGenerator
        if "helm.sh/hook" in obj["metadata"].get("annotations", {}):
            continue
        _strip_helm_metadata(obj)
        component = obj["metadata"]["labels"]["app.kubernetes.io/component"]
        files[FILES[component]].append(obj)
    return files


def render_text() -> dict[str, str]:
    """File name (relative to k8s/base) -> content."""
    out = {}
    for name, objs in base_objects().items():
        docs = [yaml.safe_dump(o, sort_keys=False, width=100) for o in objs]
        out[name] = HEADER + "---\n" + "---\n".join(docs)
    for crd in sorted(CRD_DIR.glob("*.yaml")):
        out[f"crds/{crd.name}"] = crd.read_text()
    return out


def main() -> None:
    for name, text in render_text().items():
        path = BASE / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if name.startswith("crds/"):
            shutil.copyfile(CRD_DIR / Path(name).name, path)  # byte for byte
        else:
            path.write_text(text)
        print(f"wrote {path.relative_to(REPO)}")


if __name__ == "__main__":
    main()

"""Render the chart with the real Helm engine (helm-python-sdk embeds Helm's Go library).

Nothing talks to a cluster: ``lookup`` answers empty, so generated secrets are fresh each time.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import helm_python as helm
import yaml

from tests.k8s.validation import CHART, load_documents

RELEASE = "aq"
NAMESPACE = "agentqueue"
SCENARIOS = sorted((CHART / "ci").glob("*-values.yaml"))


@functools.cache
def chart() -> helm.Chart:
    return helm.Chart.load(CHART)


def scenario_values(path: Path | None) -> dict[str, Any]:
    return {} if path is None else yaml.safe_load(path.read_text()) or {}


def render_files(values: dict[str, Any] | None = None, **opts: Any) -> dict[str, str]:
    """Template path -> rendered text (NOTES.txt included)."""
    opts = {"name": RELEASE, "namespace": NAMESPACE, "is_install": True, **opts}
    return chart().render(values or {}, **opts)


def render(values: dict[str, Any] | None = None, **opts: Any) -> list[dict[str, Any]]:
    """Every object the chart makes (templates and tests; not crds/ and not NOTES.txt)."""
    files = render_files(values, **opts)
    return [
        doc
        for name, text in sorted(files.items())
        if not name.endswith("NOTES.txt")
        for doc in load_documents(text)
    ]


def crds() -> list[dict[str, Any]]:
    return [doc for entry in chart().crds for doc in load_documents(entry["data"])]


def find(objs: list[dict[str, Any]], kind: str, suffix: str = "") -> dict[str, Any]:
    """The one object of ``kind`` whose name ends with ``suffix``."""
    hits = [o for o in objs if o["kind"] == kind and o["metadata"]["name"].endswith(suffix)]
    assert len(hits) == 1, f"{len(hits)} {kind} named *{suffix}"
    return hits[0]


def kinds(objs: list[dict[str, Any]]) -> set[str]:
    return {o["kind"] for o in objs}


def pod_specs(objs: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(kind/name, PodSpec) of every workload the chart itself runs."""
    for obj in objs:
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        if obj["kind"] in ("Deployment", "StatefulSet"):
            yield name, obj["spec"]["template"]["spec"]
        elif obj["kind"] == "Pod":
            yield name, obj["spec"]


def secret_data(secret: dict[str, Any]) -> dict[str, str]:
    data = secret.get("data") or {}
    out = {k: base64.b64decode(v).decode() for k, v in data.items()}
    out.update(secret.get("stringData") or {})
    return out


def admits(policy: dict[str, Any], labels: dict[str, str], port: int) -> bool:
    """Whether NetworkPolicy ``policy`` lets a Pod with ``labels`` in the same namespace
    reach ``port`` (a rule with no ``from`` admits everyone)."""
    for rule in policy["spec"].get("ingress", []):
        if "ports" in rule and port not in [p["port"] for p in rule["ports"]]:
            continue
        peers = rule.get("from")
        if peers is None:
            return True
        for peer in peers:
            if set(peer) == {"podSelector"} and (
                peer["podSelector"].get("matchLabels", {}).items() <= labels.items()
            ):
                return True
    return False

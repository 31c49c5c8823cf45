"""What environment a rendered container would really get, resolved from rendered objects.

Follows envFrom (ConfigMaps and Secrets), env valueFrom (secretKeyRef, configMapKeyRef,
fieldRef) and ``$(NAME)`` references in values the way the kubelet does: later entries win,
``env`` wins over ``envFrom``, a missing object or key is an error unless marked optional.
Secrets the chart does not make (``existingSecret`` values) come from ``existing``.
"""

from __future__ import annotations

import re
from typing import Any

from tests.charts.rendering import NAMESPACE, secret_data


class Unresolved(AssertionError):
    """A container refers to an object or key that would not exist."""


def _store(
    objs: list[dict[str, Any]], existing: dict[str, dict[str, str]]
) -> dict[tuple[str, str], dict[str, str]]:
    store = {("Secret", name): dict(data) for name, data in existing.items()}
    for obj in objs:
        if obj["kind"] == "Secret":
            store["Secret", obj["metadata"]["name"]] = secret_data(obj)
        elif obj["kind"] == "ConfigMap":
            store["ConfigMap", obj["metadata"]["name"]] = dict(obj.get("data") or {})
    return store


_REFERENCE = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


def expand(value: str, env: dict[str, str]) -> str:
    """The kubelet's expansion of an env value: ``$(NAME)`` becomes NAME's value if NAME
    is defined before (by envFrom or an earlier entry), else stays as written; ``$$`` is ``$``."""

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        return env.get(match.group(1), match.group(0))

    return _REFERENCE.sub(one, value)


def resolve_env(
    container: dict[str, Any],
    objs: list[dict[str, Any]],
    existing: dict[str, dict[str, str]] | None = None,
) -> dict[str, str]:
    store = _store(objs, existing or {})
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        kind, ref = (
            ("ConfigMap", source["configMapRef"])
            if "configMapRef" in source
            else ("Secret", source["secretRef"])
        )
        data = store.get((kind, ref["name"]))
        if data is None:
            if ref.get("optional"):
                continue
            raise Unresolved(f"{container['name']}: envFrom {kind} {ref['name']} does not exist")
        env.update({source.get("prefix", "") + k: v for k, v in data.items()})
    for entry in container.get("env", []):
        if "value" in entry:
            env[entry["name"]] = expand(str(entry["value"]), env)
            continue
        source = entry.get("valueFrom")
        if source is None:  # `value` omitted: the empty string
            env[entry["name"]] = ""
            continue
        if "fieldRef" in source:
            fields = {"metadata.namespace": NAMESPACE, "metadata.name": "pod-0"}
            env[entry["name"]] = fields[source["fieldRef"]["fieldPath"]]
            continue
        kind, ref = (
            ("Secret", source["secretKeyRef"])
            if "secretKeyRef" in source
            else ("ConfigMap", source["configMapKeyRef"])
        )
        data = store.get((kind, ref["name"]))
        if data is None or ref["key"] not in data:
            if ref.get("optional"):
                continue
            raise Unresolved(
                f"{container['name']}: {entry['name']} from {kind} {ref['name']} "
                f"key {ref['key']}, which does not exist"
            )
        env[entry["name"]] = data[ref["key"]]
    return env

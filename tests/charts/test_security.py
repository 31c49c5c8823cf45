"""Security properties of what the chart makes: hardened Pods, secrets kept in Secrets,
least-privilege RBAC, and NetworkPolicies that keep Redis to agentqueue's own Pods."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agentqueue.operator.deployment import selector_labels
from tests.charts.rendering import (
    SCENARIOS,
    admits,
    find,
    pod_specs,
    render,
    scenario_values,
    secret_data,
)

CASES = [None, *SCENARIOS]
IDS = ["default", *(p.name.removesuffix("-values.yaml") for p in SCENARIOS)]


@pytest.mark.parametrize("scenario", CASES, ids=IDS)
def test_every_container_is_non_root_read_only_and_unprivileged(scenario: Path | None) -> None:
    specs = list(pod_specs(render(scenario_values(scenario))))
    assert len(specs) >= 4
    for name, pod in specs:
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] == 10001, name
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        for container in pod["containers"] + pod.get("initContainers", []):
            where = f"{name}/{container['name']}"
            ctx = container["securityContext"]
            assert ctx["runAsNonRoot"] is True and ctx["runAsUser"] == 10001, where
            assert ctx["readOnlyRootFilesystem"] is True, where
            assert ctx["allowPrivilegeEscalation"] is False, where
            assert ctx["capabilities"]["drop"] == ["ALL"], where
            assert "add" not in ctx["capabilities"] and not ctx.get("privileged"), where
            mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
            assert "emptyDir" in volumes[mounts["/tmp"]], f"{where}: no writable /tmp"
            assert container["resources"]["requests"], where
            assert container["resources"]["limits"]["memory"], where
            if name.startswith("Pod/"):  # the helm test Pod runs once, unprobed
                continue
            if container in pod.get("initContainers", []):  # run to completion, unprobed
                assert "livenessProbe" not in container, where
                continue
            assert container["livenessProbe"] and container["readinessProbe"], where


def test_only_the_operator_gets_an_api_token() -> None:
    for name, pod in pod_specs(render()):
        if name.endswith("-operator"):
            assert pod["serviceAccountName"]
            assert pod.get("automountServiceAccountToken") is not False
        else:
            assert pod["automountServiceAccountToken"] is False, name


SECRET_VALUES: dict[str, dict[str, Any]] = {
    "generated": {},
    "from-values": {
        "providers": {
            "anthropic": {"apiKey": "sk-ant-secret-value-1"},
            "openai": {"apiKey": "sk-openai-secret-value-2"},
            "google": {"apiKey": "google-secret-value-3"},
        },
        "gateway": {"auth": {"apiKeys": {"team": "gateway-secret-value-4"}}},
        "redis": {"password": "redis-secret-value-5"},
    },
    "external-url": {
        "redis": {"enabled": False, "external": {"url": "redis://:ext-secret-value-6@r:6379/0"}}
    },
}


@pytest.mark.parametrize("values", SECRET_VALUES.values(), ids=SECRET_VALUES.keys())
def test_secret_values_appear_only_in_secrets(values: dict[str, Any]) -> None:
    objs = render(values)
    secrets = [v for o in objs if o["kind"] == "Secret" for v in secret_data(o).values()]
    # Each secret value, and the password inside a URL, must be nowhere else.
    needles = {v for v in secrets if len(v) >= 8}
    needles |= {v.split("@")[0].rsplit(":", 1)[-1] for v in secrets if v.startswith("redis")}
    assert len(needles) >= 2
    for obj in objs:
        if obj["kind"] == "Secret":
            continue
        text = repr(obj)
        leaked = [n for n in needles if n in text]
        assert not leaked, f"{obj['kind']}/{obj['metadata']['name']} holds a secret value"
    config = find(objs, "ConfigMap", "-config")["data"]
    assert not any(n in v for n in needles for v in config.values())


def _rules(objs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for o in objs if o["kind"] in ("Role", "ClusterRole") for r in o["rules"]]


def _is_hook(o: dict[str, Any]) -> bool:
    return "helm.sh/hook" in (o["metadata"].get("annotations") or {})


def _grants(
    objs: list[dict[str, Any]], kind: str, *, hooks: bool = False
) -> set[tuple[str, str, str]]:
    """What the long-running Roles of ``kind`` grant (or, with ``hooks``, the hooks')."""
    return {
        (group, resource, verb)
        for o in objs
        if o["kind"] == kind and _is_hook(o) == hooks
        for r in o["rules"]
        for group in r["apiGroups"]
        for resource in r["resources"]
        for verb in r["verbs"]
    }


FINALIZERS = ("agentqueue.io", "agentqueues/finalizers", "update")
CONTRACT = {
    *(("agentqueue.io", "agentqueues", v) for v in ("get", "list", "watch", "patch", "update")),
    *(("agentqueue.io", "agentqueues/status", v) for v in ("get", "patch", "update")),
    # kopf's adopt sets blockOwnerDeletion on each worker Deployment's ownerReference; the
    # OwnerReferencesPermissionEnforcement admission plugin then wants update on the owner's
    # finalizers, or refuses the Deployment (403). Update only: nothing else is needed.
    FINALIZERS,
    *(
        ("apps", "deployments", v)
        for v in ("get", "list", "watch", "create", "patch", "update", "delete")
    ),
    ("", "events", "create"),
    ("", "events", "patch"),
    ("events.k8s.io", "events", "create"),
    ("events.k8s.io", "events", "patch"),
}
DISCOVERY = {
    *(("apiextensions.k8s.io", "customresourcedefinitions", v) for v in ("get", "list", "watch")),
    ("", "namespaces", "list"),
    ("", "namespaces", "watch"),
}
PEERING = {"get", "list", "watch", "patch"}


@pytest.mark.parametrize("scope", ["namespace", "cluster"])
def test_rbac_is_exactly_the_contract_and_has_no_wildcards(scope: str) -> None:
    objs = render({"operator": {"scope": scope}})
    for rule in _rules(objs):
        for field in ("apiGroups", "resources", "verbs"):
            assert "*" not in rule[field], rule
        assert "resourceNames" not in rule and "nonResourceURLs" not in rule
    roles, clusterroles = _grants(objs, "Role"), _grants(objs, "ClusterRole")
    if scope == "namespace":
        assert roles == CONTRACT | {("kopf.dev", "kopfpeerings", v) for v in PEERING}
        assert clusterroles == DISCOVERY
        binding = find(objs, "RoleBinding", "-operator")
    else:
        assert not roles
        assert clusterroles == CONTRACT | DISCOVERY | {
            ("kopf.dev", "clusterkopfpeerings", v) for v in PEERING
        }
        binding = find(objs, "ClusterRoleBinding", "-operator")
    sa = find(objs, "ServiceAccount", "-operator")["metadata"]["name"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": sa, "namespace": "agentqueue"}
    ]
    without = render({"operator": {"enabled": False}})
    assert not any(o["kind"] in ("Role", "ClusterRole") for o in without)


@pytest.mark.parametrize("scope", ["namespace", "cluster"])
def test_the_operator_may_set_block_owner_deletion_on_its_workers(scope: str) -> None:
    """What a real API server with OwnerReferencesPermissionEnforcement refused: the
    operator's own Role (or ClusterRole) must let it update agentqueues/finalizers, and only
    that on finalizers."""
    objs = render({"operator": {"scope": scope}})
    kind = "Role" if scope == "namespace" else "ClusterRole"
    role = find(objs, kind, "-operator")
    grants = _grants([role], kind)
    assert FINALIZERS in grants
    assert {g for g in grants if g[1].endswith("/finalizers")} == {FINALIZERS}
    binding = find(objs, f"{kind}Binding", "-operator")
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": kind,
        "name": role["metadata"]["name"],
    }


def test_the_uninstall_hook_may_only_list_delete_and_unfinalize_agentqueues() -> None:
    objs = render({})
    assert _grants(objs, "Role", hooks=True) == {
        ("agentqueue.io", "agentqueues", v) for v in ("list", "delete", "patch")
    }
    assert not _grants(objs, "ClusterRole", hooks=True)
    job = find(objs, "Job", "-cleanup")
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-delete"
    pod = job["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == find(objs, "ServiceAccount", "-cleanup")["metadata"]["name"]
    command = pod["containers"][0]["command"]
    assert command[:3] == ["python", "-m", "agentqueue.operator.cleanup"]
    assert "--selector=app.kubernetes.io/instance=aq" in command
    assert not any(o["kind"] == "Job" for o in render({"operator": {"enabled": False}}))


def test_redis_limiter_and_simulator_admit_only_agentqueue_pods() -> None:
    objs = render()
    policies = {o["metadata"]["name"]: o for o in objs if o["kind"] == "NetworkPolicy"}
    worker = selector_labels("aq-agentqueue-high")  # as the operator labels worker Pods
    gateway = find(objs, "Deployment", "-gateway")["spec"]["template"]["metadata"]["labels"]
    stranger = {"app": "something-else"}
    for component, port in (("redis", 6379), ("limiter", 8091), ("simulator", 8090)):
        policy = policies[f"aq-agentqueue-{component}"]
        kind = "StatefulSet" if component == "redis" else "Deployment"
        target = find(objs, kind, f"-{component}")
        selector = policy["spec"]["podSelector"]["matchLabels"]
        assert selector.items() <= target["spec"]["template"]["metadata"]["labels"].items()
        assert policy["spec"]["policyTypes"] == ["Ingress"]
        assert admits(policy, worker, port) and admits(policy, gateway, port)
        assert not admits(policy, stranger, port), component
        assert not admits(policy, worker, port + 1)
    assert admits(policies["aq-agentqueue-gateway"], stranger, 8080)  # the front door
    assert policies["aq-agentqueue-operator"]["spec"]["ingress"] == []  # admits nobody


def test_gateway_and_metrics_peers_can_be_restricted() -> None:
    edge = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "edge"}}}
    prom = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    objs = render({"networkPolicy": {"gatewayFrom": [edge], "metricsFrom": [prom]}})
    gateway = find(objs, "NetworkPolicy", "-gateway")
    assert not admits(gateway, {"app": "something-else"}, 8080)
    assert admits(gateway, selector_labels("aq-agentqueue-high"), 8080)
    assert edge in gateway["spec"]["ingress"][0]["from"]
    assert prom in gateway["spec"]["ingress"][0]["from"]  # /metrics is on the same port
    limiter = find(objs, "NetworkPolicy", "-limiter")
    assert any(prom in rule.get("from", []) for rule in limiter["spec"]["ingress"])
    assert not any(edge in rule.get("from", []) for rule in limiter["spec"]["ingress"])


def test_network_policies_can_be_turned_off() -> None:
    objs = render({"networkPolicy": {"enabled": False}})
    assert not [o for o in objs if o["kind"] == "NetworkPolicy"]

"""k8s/: the plain manifests are the chart's defaults, build with kustomize, and are valid.

Overlays need a kustomize binary (``kubectl kustomize`` here); without one the base is read
through its ``resources`` list and the overlays are skipped.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from agentqueue.gateway.settings import GatewaySettings
from agentqueue.worker.settings import WorkerSettings
from tests.charts.envresolve import resolve_env
from tests.k8s import render_base
from tests.k8s.kustomize import build, build_resources_only, kustomize_command
from tests.k8s.validation import AGENTQUEUE_CRD, CRD_DIR, REPO, validate

K8S = REPO / "k8s"
BASE = K8S / "base"
COMPONENTS = K8S / "components"
OVERLAYS = sorted(p.parent for p in (K8S / "overlays").glob("*/kustomization.yaml"))
needs_kustomize = pytest.mark.skipif(
    kustomize_command() is None, reason="no kustomize or kubectl binary to build overlays"
)


def test_base_is_the_chart_default_rendering() -> None:
    """Regenerate with `python -m tests.k8s.render_base` after changing the chart."""
    expected = render_base.render_text()
    on_disk = {
        str(p.relative_to(BASE)): p.read_text()
        for p in BASE.rglob("*.yaml")
        if p.name not in ("kustomization.yaml", "kustomizeconfig.yaml")
    }
    assert sorted(on_disk) == sorted(expected)
    stale = [name for name, text in expected.items() if on_disk[name] != text]
    assert not stale, f"k8s/base differs from the chart in {stale}: run the generator"


def test_components_are_what_the_chart_options_add() -> None:
    """Regenerate with `python -m tests.k8s.render_base` after changing the chart."""
    expected = render_base.render_components()
    on_disk = {
        str(p.relative_to(COMPONENTS)): p.read_text()
        for p in COMPONENTS.rglob("*.yaml")
        if p.name != "kustomization.yaml"
    }
    assert on_disk == expected, "k8s/components differ from the chart: run the generator"
    for directory in render_base.COMPONENTS:
        kustomization = yaml.safe_load((COMPONENTS / directory / "kustomization.yaml").read_text())
        assert kustomization["kind"] == "Component"
        assert kustomization["resources"] == [render_base.COMPONENTS[directory][1]]


def test_crd_copies_are_byte_identical() -> None:
    assert (BASE / "crds" / AGENTQUEUE_CRD.name).read_bytes() == AGENTQUEUE_CRD.read_bytes()
    for crd in CRD_DIR.glob("*.yaml"):
        assert (BASE / "crds" / crd.name).read_bytes() == crd.read_bytes(), crd.name
    kustomization = yaml.safe_load((BASE / "crds" / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == sorted(p.name for p in CRD_DIR.glob("*.yaml"))


@needs_kustomize
def test_base_crds_build_to_exactly_the_charts() -> None:
    """`kubectl apply --server-side -k k8s/base/crds` applies what the chart's crds/ holds."""
    from tests.k8s.validation import load_documents

    built = sorted(build(BASE / "crds"), key=lambda o: o["metadata"]["name"])
    chart = sorted(
        (d for p in CRD_DIR.glob("*.yaml") for d in load_documents(p.read_text())),
        key=lambda o: o["metadata"]["name"],
    )
    assert built == chart


@pytest.mark.slow
def test_every_file_under_k8s_is_valid_yaml_of_valid_objects() -> None:
    """Each file alone: base resources, overlay patches excepted (partial by design)."""
    from tests.k8s.validation import load_documents

    checked = 0
    for path in sorted(K8S.rglob("*.yaml")):
        docs = load_documents(path.read_text())
        if path.name in ("kustomization.yaml", "kustomizeconfig.yaml"):
            continue
        if "overlays" in path.parts and path.name != "namespace.yaml":
            continue  # strategic-merge patches: checked once applied, below
        for doc in docs:
            validate(doc)
            checked += 1
    assert checked >= 30


def _builds() -> list[Path]:
    return [BASE, *OVERLAYS]


@pytest.mark.slow
@pytest.mark.parametrize("path", _builds(), ids=lambda p: str(p.relative_to(K8S)))
@needs_kustomize
def test_kustomize_output_is_valid(path: Path) -> None:
    objs = build(path)
    for obj in objs:
        validate(obj)
    names = [(o["kind"], o["metadata"]["name"]) for o in objs]
    assert len(names) == len(set(names))
    assert ("CustomResourceDefinition", "agentqueues.agentqueue.io") in names


def test_base_without_kustomize_reads_its_resources() -> None:
    """The fallback path: the base's own files, each valid (generators not applied)."""
    objs = build_resources_only(BASE)
    assert {o["kind"] for o in objs} >= {"Deployment", "StatefulSet", "AgentQueue", "ConfigMap"}
    for obj in objs:
        validate(obj)


def _role_grants(objs: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    (role,) = [o for o in objs if o["kind"] == "Role"]
    return {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


def test_base_operator_role_is_the_contract_with_finalizers() -> None:
    """The base's operator Role is the chart's contract: agentqueues/finalizers update
    included, without which OwnerReferencesPermissionEnforcement refuses every worker."""
    from tests.charts.test_security import CONTRACT, FINALIZERS, PEERING

    grants = _role_grants(build_resources_only(BASE))
    assert FINALIZERS in grants
    assert grants == CONTRACT | {("kopf.dev", "kopfpeerings", v) for v in PEERING}


@pytest.mark.parametrize("path", OVERLAYS, ids=lambda p: p.name)
@needs_kustomize
def test_overlays_keep_the_finalizers_rule(path: Path) -> None:
    from tests.charts.test_security import FINALIZERS

    assert FINALIZERS in _role_grants(build(path))


def test_base_keeps_a_fixed_peering_name() -> None:
    """The base's KopfPeering is namespaced and named `agentqueue` (documented in its
    kustomization.yaml); the operator joins that one."""
    objs = build_resources_only(BASE)
    (peering,) = [o for o in objs if o["apiVersion"] == "kopf.dev/v1"]
    assert (peering["kind"], peering["metadata"]["name"]) == ("KopfPeering", "agentqueue")
    operator = next(
        o for o in objs if o["kind"] == "Deployment" and o["metadata"]["name"].endswith("-operator")
    )
    env = {
        e["name"]: e.get("value")
        for e in operator["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["AGENTQUEUE_OPERATOR_PEERING"] == "agentqueue"
    assert "`agentqueue`" in (BASE / "kustomization.yaml").read_text()


def _namespaced(obj: dict[str, Any]) -> bool:
    cluster_kinds = {
        "Namespace",
        "CustomResourceDefinition",
        "ClusterRole",
        "ClusterRoleBinding",
        "ClusterKopfPeering",
    }
    return obj["kind"] not in cluster_kinds


@pytest.mark.parametrize("path", OVERLAYS, ids=lambda p: p.name)
@needs_kustomize
def test_overlays_put_everything_in_their_namespace(path: Path) -> None:
    objs = build(path)
    namespace = next(o for o in objs if o["kind"] == "Namespace")["metadata"]["name"]
    for obj in objs:
        if _namespaced(obj):
            assert obj["metadata"].get("namespace") == namespace, obj["metadata"]["name"]
        for subject in obj.get("subjects", []):
            assert subject["namespace"] == namespace  # kustomize rewrote the base's "default"


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    def make(cls: type, env: dict[str, str]) -> Any:
        for name in list(os.environ):
            if name.startswith("AGENTQUEUE_") or name.endswith("_API_KEY"):
                monkeypatch.delenv(name)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return cls()

    return make


@needs_kustomize
def test_dev_overlay_runs_on_the_simulator_with_dev_images(settings_env: Any) -> None:
    from agentqueue.operator.deployment import worker_deployment
    from agentqueue.operator.spec import AgentQueueSpec

    objs = build(K8S / "overlays" / "dev")
    kinds = {(o["kind"], o["metadata"]["name"]) for o in objs}
    assert ("Deployment", "agentqueue-simulator") in kinds
    assert ("StatefulSet", "agentqueue-redis") in kinds
    queue = next(o for o in objs if o["kind"] == "AgentQueue")
    assert queue["spec"]["worker"]["image"] == "agentqueue-worker:dev"  # kustomizeconfig.yaml
    made = worker_deployment(queue["metadata"]["name"], AgentQueueSpec.of(queue["spec"]), 1)
    env = resolve_env(made["spec"]["template"]["spec"]["containers"][0], objs)
    settings = settings_env(WorkerSettings, env)
    assert settings.simulator_url == "http://agentqueue-simulator:8090"
    assert settings.log_format == "text"
    assert settings.redis_url.get_secret_value().endswith("@agentqueue-redis:6379/0")


@needs_kustomize
def test_production_overlay_drops_redis_and_simulator(settings_env: Any) -> None:
    objs = build(K8S / "overlays" / "production")
    names = {o["metadata"]["name"] for o in objs}
    assert not {"agentqueue-redis", "agentqueue-simulator"} & names
    config = next(o for o in objs if o["kind"] == "ConfigMap")["data"]
    assert "AGENTQUEUE_SIMULATOR_URL" not in config
    gateway = next(
        o
        for o in objs
        if o["metadata"]["name"] == "agentqueue-gateway" and o["kind"] == "Deployment"
    )
    container = gateway["spec"]["template"]["spec"]["containers"][0]
    assert container["image"].startswith("registry.example.internal/")
    settings = settings_env(GatewaySettings, resolve_env(container, objs))
    assert settings.redis_url.get_secret_value().startswith("rediss://")
    assert settings.key_hashes()
    assert not [o for o in objs if o["kind"] == "StatefulSet"]


@needs_kustomize
def test_production_overlay_runs_the_interactive_gateway_as_the_gateway() -> None:
    """The component's Deployment is the gateway's very Pod under its own name and labels:
    same image (the overlay's), same settings; its Service and NetworkPolicy come with it."""
    objs = build(K8S / "overlays" / "production")
    by_name = {(o["kind"], o["metadata"]["name"]): o for o in objs}
    name = "agentqueue-gateway-interactive"
    for kind in ("Deployment", "Service", "PodDisruptionBudget", "NetworkPolicy"):
        assert by_name[(kind, name)]["metadata"]["namespace"] == "agentqueue", kind
    pods = [
        by_name[("Deployment", n)]["spec"]["template"]["spec"] for n in ("agentqueue-gateway", name)
    ]
    main, interactive = (p["containers"][0] for p in pods)
    assert interactive["image"] == main["image"]
    assert interactive["image"].startswith("registry.example.internal/")
    assert resolve_env(interactive, objs) == resolve_env(main, objs)
    service = by_name[("Service", name)]["spec"]
    assert service["selector"]["app.kubernetes.io/component"] == "gateway-interactive"

"""The chart ships the configuration file as a ConfigMap that gateway, limiter and workers
mount; its secrets come from a Secret; a change of the file rolls their Pods."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
import yaml

from agentqueue.core.config.loader import load_config
from agentqueue.gateway.settings import GatewaySettings
from agentqueue.limiter.settings import LimiterSettings
from agentqueue.operator.deployment import worker_deployment
from agentqueue.operator.spec import AgentQueueSpec
from agentqueue.worker.settings import WorkerSettings
from tests.charts.rendering import NAMESPACE, find, render, secret_data
from tests.k8s.validation import CHART, KUBE_VERSION, validate

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "config.example.yaml"
CONTENT = yaml.safe_load(EXAMPLE.read_text())
TOKEN = "vllm-token-SECRET-0123456789"
VALUES = {"configFile": {"content": CONTENT, "secrets": {"vllm-token": TOKEN}}}
MOUNT = "/etc/agentqueue/config"
FILE = f"{MOUNT}/config.yaml"


def _pods(objs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """component -> Pod template, the workers' as the operator builds them."""
    out = {}
    for component in ("gateway", "limiter"):
        out[component] = find(objs, "Deployment", f"-{component}")["spec"]["template"]
    queue = find(objs, "AgentQueue", "-standard")
    made = worker_deployment(queue["metadata"]["name"], AgentQueueSpec.of(queue["spec"]), 1)
    made["metadata"]["namespace"] = NAMESPACE
    validate(made)
    out["worker"] = made["spec"]["template"]
    return out


def test_without_content_nothing_is_rendered_or_mounted() -> None:
    objs = render()
    assert not [o for o in objs if "config-file" in o["metadata"]["name"]]
    assert not [o for o in objs if o["metadata"]["name"].endswith("-config-secrets")]
    for name, pod in _pods(objs).items():
        container = pod["spec"]["containers"][0]
        assert "AGENTQUEUE_CONFIG" not in {e["name"] for e in container.get("env", [])}, name
        assert "checksum/config-file" not in pod["metadata"].get("annotations", {}), name


def test_the_file_is_a_configmap_the_services_accept(tmp_path: Path) -> None:
    objs = render(VALUES)
    data = find(objs, "ConfigMap", "-config-file")["data"]
    assert set(data) == {"config.yaml"}
    path = tmp_path / "config.yaml"
    path.write_text(data["config.yaml"])
    assert load_config(path) == load_config(EXAMPLE)  # numbers, keys and lists survive Helm
    for settings in (GatewaySettings, LimiterSettings, WorkerSettings):
        built = settings(AGENTQUEUE_CONFIG=str(path))
        assert len(built.file_config().deployments) == 8
        assert built.tenant_quotas["acme"]["tpm"] == 200_000


def test_gateway_limiter_and_workers_mount_it_read_only() -> None:
    for name, pod in _pods(render(VALUES)).items():
        container = pod["spec"]["containers"][0]
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env["AGENTQUEUE_CONFIG"] == FILE, name
        mounts = {m["name"]: m for m in container["volumeMounts"]}
        assert mounts["config-file"] == {
            "name": "config-file",
            "mountPath": MOUNT,
            "readOnly": True,
        }
        assert "subPath" not in mounts["config-file"]  # a subPath mount never sees an update
        assert mounts["config-secrets"]["mountPath"] == "/etc/agentqueue/secrets"
        assert mounts["config-secrets"]["readOnly"] is True
        volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
        assert volumes["config-file"]["configMap"]["name"] == "aq-agentqueue-config-file"
        assert volumes["config-secrets"]["secret"] == {
            "secretName": "aq-agentqueue-config-secrets",
            "defaultMode": 0o440,
        }


def test_secrets_are_in_a_secret_only() -> None:
    objs = render(VALUES)
    assert secret_data(find(objs, "Secret", "-config-secrets")) == {"vllm-token": TOKEN}
    for obj in objs:
        if obj["kind"] != "Secret":
            assert TOKEN not in repr(obj), f"{obj['kind']}/{obj['metadata']['name']}"


def test_an_existing_secret_is_mounted_instead() -> None:
    values = {"configFile": {"content": CONTENT, "existingSecret": "my-llm-secrets"}}
    objs = render(values)
    assert not [o for o in objs if o["metadata"]["name"].endswith("-config-secrets")]
    for pod in _pods(objs).values():
        volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
        assert volumes["config-secrets"]["secret"]["secretName"] == "my-llm-secrets"


def test_pods_roll_when_the_file_changes() -> None:
    def checksums(content: Any, secrets: dict[str, str]) -> dict[str, str]:
        pods = _pods(render({"configFile": {"content": content, "secrets": secrets}}))
        return {n: p["metadata"]["annotations"]["checksum/config-file"] for n, p in pods.items()}

    before = checksums(CONTENT, {"vllm-token": TOKEN})
    assert len(set(before.values())) == 1  # one file, one checksum everywhere
    changed = {**CONTENT, "tenants": {"acme": {"tpm": 1}}}
    after = checksums(changed, {"vllm-token": TOKEN})
    assert all(after[n] != before[n] for n in before)
    # a rotated secret is re-read by the running processes; its value is never hashed
    assert checksums(CONTENT, {"vllm-token": "other"}) == before

    def worker_hash(content: Any) -> str:
        queue = find(render({"configFile": {"content": content}}), "AgentQueue", "-standard")
        made = worker_deployment("q", AgentQueueSpec.of(queue["spec"]), 1)
        return str(made["metadata"]["annotations"]["agentqueue.io/template-hash"])

    assert worker_hash(CONTENT) != worker_hash(changed)  # the operator rolls the workers


def test_the_content_may_be_the_whole_file_as_text(tmp_path: Path) -> None:
    text = EXAMPLE.read_text()
    data = find(render({"configFile": {"content": text}}), "ConfigMap", "-config-file")["data"]
    assert data["config.yaml"] == text


@pytest.mark.slow
def test_rendered_objects_are_schema_valid_and_lint_strictly() -> None:
    objs = render(VALUES)
    for obj in objs:
        validate(obj)
    report = helm.lint(CHART, VALUES, strict=True, kube_version=f"v{KUBE_VERSION}")
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert not problems and not report["errors"], report


@pytest.mark.parametrize(
    ("values", "needle"),
    [
        ({"configFile": {"content": 5}}, "configFile.content"),
        ({"configFile": {"contents": {}}}, "contents"),
        ({"configFile": {"content": {}, "secrets": {"a/b": "x"}}}, "a/b"),
    ],
)
def test_the_values_schema_refuses_a_bad_config_file_section(
    values: dict[str, Any], needle: str
) -> None:
    with pytest.raises(Exception, match="(?s)" + needle.replace(".", r"\W")):
        render(values)

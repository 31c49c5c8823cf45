"""The chart's objects fit together, and each process would accept the environment it gets.

Each container's environment is resolved from the rendered ConfigMaps and Secrets (and the
scenarios' existing Secrets), then handed to that service's own settings class. Workers are
built the way the operator builds them (``agentqueue.operator.deployment``) from the chart's
AgentQueues, so the contract between chart and operator is exercised, not restated.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis
from pydantic_settings import BaseSettings

from agentqueue.gateway.settings import GatewaySettings
from agentqueue.limiter.settings import LimiterSettings
from agentqueue.operator.deployment import worker_deployment
from agentqueue.operator.settings import OperatorSettings
from agentqueue.operator.spec import AgentQueueSpec
from agentqueue.simulator.settings import SimulatorSettings
from agentqueue.worker.settings import WorkerSettings
from tests.charts.envresolve import resolve_env
from tests.charts.rendering import (
    NAMESPACE,
    SCENARIOS,
    find,
    render,
    render_files,
    scenario_values,
    secret_data,
)
from tests.k8s.validation import validate

#: The Secrets the ci/ scenarios name but do not create (a user would have made them).
EXISTING_SECRETS = {
    "agentqueue-redis": {"url": "redis://:existing-password@redis.example.internal:6379/2"},
    "llm-provider-keys": {"anthropic": "sk-ant-existing", "openai": "sk-existing"},
    "agentqueue-api-keys": {"keys": "team-x:existing-key-0123456789"},
    "agentqueue-redis-password": {"password": "existing-redis-password"},
}
SETTINGS: dict[str, type[BaseSettings]] = {
    "agentqueue.gateway": GatewaySettings,
    "agentqueue.limiter": LimiterSettings,
    "agentqueue.operator": OperatorSettings,
    "agentqueue.simulator": SimulatorSettings,
    "agentqueue.worker": WorkerSettings,
}
PROVIDER_KEYS = ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GOOGLE_API_KEY", "GEMINI_API_KEY")
CASES = [None, *SCENARIOS]
IDS = ["default", *(p.name.removesuffix("-values.yaml") for p in SCENARIOS)]

Build = Callable[[type[BaseSettings], dict[str, str]], Any]


@pytest.fixture
def build(monkeypatch: pytest.MonkeyPatch) -> Build:
    """Construct a settings class from exactly ``env``, as the process would in its Pod."""

    def make(cls: type[BaseSettings], env: dict[str, str]) -> Any:
        for name in list(os.environ):
            if name.startswith("AGENTQUEUE_") or name in PROVIDER_KEYS or name in env:
                monkeypatch.delenv(name)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return cls()

    return make


def _containers(objs: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(workload, container) for every container the chart runs, and every operator-made worker."""
    out = []
    for obj in objs:
        if obj["kind"] in ("Deployment", "StatefulSet"):
            out += [(obj, c) for c in obj["spec"]["template"]["spec"]["containers"]]
        elif obj["kind"] == "Pod":
            out += [(obj, c) for c in obj["spec"]["containers"]]
        elif obj["kind"] == "AgentQueue":
            spec = AgentQueueSpec.of(obj["spec"])
            made = worker_deployment(obj["metadata"]["name"], spec, replicas=1)
            made["metadata"]["namespace"] = NAMESPACE
            validate(made)  # what the operator will create is schema-valid too
            out += [(made, c) for c in made["spec"]["template"]["spec"]["containers"]]
    return out


def _module(container: dict[str, Any]) -> str | None:
    command = container.get("command", [])
    return command[2] if command[:2] == ["python", "-m"] else None


@pytest.mark.parametrize("scenario", CASES, ids=IDS)
def test_every_process_accepts_the_environment_it_gets(scenario: Path | None, build: Build) -> None:
    values = scenario_values(scenario)
    objs = render(values)
    redis_urls, modules = set(), []
    for workload, container in _containers(objs):
        env = resolve_env(container, objs, EXISTING_SECRETS)
        module = _module(container)
        if module is None:
            continue
        modules.append(module)
        settings = build(SETTINGS[module], env)
        if module == "agentqueue.simulator":
            assert settings.host == "0.0.0.0" and settings.port == 8090
            continue
        redis_urls.add(settings.redis_url.get_secret_value())
        assert settings.log_format == values.get("config", {}).get("logFormat", "json")
        if module in ("agentqueue.gateway", "agentqueue.limiter"):
            assert settings.host == "0.0.0.0"
        if module == "agentqueue.gateway":
            assert settings.auth_disabled or settings.key_hashes()
        if module not in ("agentqueue.worker", "agentqueue.gateway"):
            # Provider keys reach only the workers and the gateway (interactive endpoints).
            assert not any(name in env for name in PROVIDER_KEYS), (workload, sorted(env))
        elif module == "agentqueue.worker":
            queue = workload["spec"]["template"]["metadata"]["labels"]["agentqueue.io/queue"]
            assert queue.endswith(f"-{settings.queue.value}")
    assert {"agentqueue.gateway", "agentqueue.operator", "agentqueue.worker"} <= set(modules)
    assert len(redis_urls) == 1, "every process must reach the same Redis"
    url = redis_urls.pop()
    if values.get("redis", {}).get("enabled", True):
        assert url.startswith("redis://:") and url.endswith("@aq-agentqueue-redis:6379/0")
    assert "$(" not in url, "a $(VAR) reference the kubelet could not expand"


#: What each scenario's processes must be told about Sentinels: (addresses, master name).
SENTINEL_SCENARIOS = {
    "redis-sentinel-values.yaml": (
        ",".join(f"aq-agentqueue-redis-{i}.aq-agentqueue-redis:26379" for i in range(3)),
        "agentqueue",
    ),
    "external-redis-sentinels-values.yaml": (
        ",".join(f"sentinel-{i}.redis.example.internal:26379" for i in range(3)),
        "redis-ha",
    ),
}


@pytest.mark.parametrize("scenario", CASES, ids=IDS)
def test_every_redis_process_gets_the_same_sentinels(scenario: Path | None, build: Build) -> None:
    """Sentinel settings reach every process that talks to Redis (workers included, through
    the operator), and each service's own settings class reads them; without Sentinels
    no process gets any."""
    values = scenario_values(scenario)
    objs = render(values)
    expected = SENTINEL_SCENARIOS.get(scenario.name if scenario else "", ("", None))
    seen = []
    for _, container in _containers(objs):
        module = _module(container)
        if module is None or module == "agentqueue.simulator":
            continue
        settings = build(SETTINGS[module], resolve_env(container, objs, EXISTING_SECRETS))
        seen.append(module)
        assert settings.redis_sentinels == expected[0], module
        if expected[1] is not None:
            assert settings.redis_sentinel_master == expected[1], module
    assert {"agentqueue.gateway", "agentqueue.operator", "agentqueue.worker"} <= set(seen)


@pytest.mark.parametrize(
    "scenario", ["external-redis-tls-values.yaml", "external-redis-sentinels-values.yaml"]
)
def test_external_redis_over_tls_with_a_password_from_an_existing_secret(
    scenario: str, build: Build
) -> None:
    values = scenario_values(next(p for p in SCENARIOS if p.name == scenario))
    objs = render(values)
    secret = secret_data(find(objs, "Secret", "-env"))
    assert "AGENTQUEUE_REDIS_URL" not in secret and "REDIS_PASSWORD" not in secret
    for cm in (o for o in objs if o["kind"] == "ConfigMap"):
        assert "existing-redis-password" not in str(cm.get("data"))
    workers = [c for _, c in _containers(objs) if _module(c) == "agentqueue.worker"]
    assert len(workers) == 3
    for _, container in _containers(objs):
        module = _module(container)
        if module is None or module == "agentqueue.simulator":
            continue
        env = {e["name"]: e for e in container["env"]}
        # The password comes from the user's Secret, defined before the URL refers to it.
        assert env["REDIS_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
            "name": "agentqueue-redis-password",
            "key": "password",
        }
        names = [e["name"] for e in container["env"]]
        assert names.index("REDIS_PASSWORD") < names.index("AGENTQUEUE_REDIS_URL")
        assert "$(REDIS_PASSWORD)" in env["AGENTQUEUE_REDIS_URL"]["value"]
        settings = build(SETTINGS[module], resolve_env(container, objs, EXISTING_SECRETS))
        parsed = redis.connection.parse_url(settings.redis_url.get_secret_value())
        assert parsed["password"] == "existing-redis-password", module
        assert parsed["connection_class"] is redis.connection.SSLConnection, module
        external = values["redis"]["external"]
        assert parsed["db"] == external.get("db", 0)
        if external.get("host"):
            assert (parsed["host"], parsed["port"]) == (external["host"], external["port"])


def test_in_chart_sentinels_run_hardened_next_to_each_redis() -> None:
    scenario = next(p for p in SCENARIOS if p.name == "redis-sentinel-values.yaml")
    objs = render(scenario_values(scenario))
    sts = find(objs, "StatefulSet", "-redis")
    assert sts["spec"]["replicas"] == 3 and sts["spec"]["podManagementPolicy"] == "Parallel"
    pod = sts["spec"]["template"]["spec"]
    containers = {c["name"]: c for c in pod["containers"]}
    assert set(containers) == {"redis", "sentinel"}
    assert containers["redis"]["command"] == ["redis-server", "/conf/redis.conf"]
    sentinel_command = ["redis-server", "/conf/sentinel.conf", "--sentinel"]
    assert containers["sentinel"]["command"] == sentinel_command
    (init,) = pod["initContainers"]
    script = init["args"][0]
    for line in (
        "appendonly yes",
        "appendfsync everysec",
        "maxmemory-policy noeviction",
        "requirepass ${REDIS_PASSWORD}",
        "masterauth ${REDIS_PASSWORD}",
        "sentinel monitor agentqueue ${master} 6379 2",
        "sentinel auth-pass agentqueue ${REDIS_PASSWORD}",
        "sentinel resolve-hostnames yes",
        "replicaof ${master} 6379",
    ):
        assert line in script, line
    # The configs (the password included) go to an emptyDir, never into a ConfigMap.
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes["conf"]
    for c in [init, *containers.values()]:
        assert {"name": "conf", "mountPath": "/conf"} in c["volumeMounts"], c["name"]
    assert {"name": "data", "mountPath": "/data"} in containers["redis"]["volumeMounts"]
    service = find(objs, "Service", "-redis")
    assert service["spec"]["publishNotReadyAddresses"] is True
    assert {p["name"]: p["port"] for p in service["spec"]["ports"]} == {
        "redis": 6379,
        "sentinel": 26379,
    }
    policy = find(objs, "NetworkPolicy", "-redis")
    assert {p["port"] for p in policy["spec"]["ingress"][0]["ports"]} == {6379, 26379}
    env = resolve_env(init, objs)
    assert len(env["REDIS_PASSWORD"]) >= 32 and env["POD_NAMESPACE"] == NAMESPACE


def test_workers_get_provider_keys_limiter_budgets_and_simulator(build: Build) -> None:
    values = {
        "providers": {"anthropic": {"apiKey": "sk-ant-from-values"}},
        "simulator": {"enabled": True},
        "budgets": {"anthropic:claude-sonnet-4-6": {"rpm": 4000, "tpm": 2_000_000}},
    }
    objs = render(values)
    workers = [(w, c) for w, c in _containers(objs) if _module(c) == "agentqueue.worker"]
    assert len(workers) == 3
    for _, container in workers:
        settings = build(WorkerSettings, resolve_env(container, objs))
        assert settings.api_key("anthropic").get_secret_value() == "sk-ant-from-values"
        assert settings.api_key("openai") is None
        assert settings.simulator_url == "http://aq-agentqueue-simulator:8090"
        assert settings.limiter_url is None  # they decide in Redis, with the same script
        assert settings.budgets == {"anthropic:claude-sonnet-4-6": {"rpm": 4000, "tpm": 2_000_000}}
        assert settings.metrics_port == 9100


def test_the_gateway_gets_provider_keys_for_its_interactive_endpoints(build: Build) -> None:
    from agentqueue.gateway.settings import GatewaySettings

    for values, expected in (
        ({"providers": {"openai": {"apiKey": "sk-openai-from-values"}}}, "sk-openai-from-values"),
        ({"providers": {"existingSecret": "provider-keys"}}, None),
    ):
        objs = render(values)
        gateway = next(c for _, c in _containers(objs) if _module(c) == "agentqueue.gateway")
        env = {e["name"]: e for e in gateway["env"]}
        assert env["OPENAI_API_KEY"]["valueFrom"]["secretKeyRef"]["optional"] is True
        if expected is None:  # the user's Secret, under its own key name
            assert env["OPENAI_API_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "provider-keys"
            continue
        settings = build(GatewaySettings, resolve_env(gateway, objs))
        assert settings.api_key("openai").get_secret_value() == expected
        assert settings.api_key("anthropic") is None


def test_workers_can_be_told_to_call_the_limiter_service(build: Build) -> None:
    objs = render({"limiter": {"decideInRedis": False}})
    workers = [c for _, c in _containers(objs) if _module(c) == "agentqueue.worker"]
    assert workers
    for container in workers:
        settings = build(WorkerSettings, resolve_env(container, objs))
        assert settings.limiter_url == "http://aq-agentqueue-limiter:8091"


def test_provider_keys_from_an_existing_secret_under_its_own_key_names(build: Build) -> None:
    values = {
        "providers": {
            "existingSecret": "keys",
            "anthropic": {"secretKey": "claude"},
            "google": {"secretKey": "gemini"},
        }
    }
    objs = render(values)
    assert not any(o["metadata"]["name"].endswith("-simulator") for o in objs)
    _, container = next((w, c) for w, c in _containers(objs) if _module(c) == "agentqueue.worker")
    env = resolve_env(container, objs, {"keys": {"claude": "sk-ant-1", "gemini": "g-2"}})
    settings = build(WorkerSettings, env)
    assert settings.api_key("anthropic").get_secret_value() == "sk-ant-1"
    assert settings.api_key("google").get_secret_value() == "g-2"
    assert settings.api_key("openai") is None  # optional: absent from the Secret
    assert settings.simulator_url is None


@pytest.mark.parametrize(
    "values,expected",
    [
        ({}, True),
        ({"providers": {"openai": {"apiKey": "sk-1"}}}, False),
        ({"providers": {"existingSecret": "keys"}}, False),
        ({"providers": {"openai": {"apiKey": "sk-1"}}, "simulator": {"enabled": True}}, True),
        ({"simulator": {"enabled": False}}, False),
    ],
    ids=["no-keys", "a-key", "existing-secret", "forced-on", "forced-off"],
)
def test_simulator_runs_exactly_when_no_provider_key_is_given(
    values: dict[str, Any], expected: bool
) -> None:
    objs = render(values)
    names = {(o["kind"], o["metadata"]["name"]) for o in objs}
    assert (("Deployment", "aq-agentqueue-simulator") in names) is expected
    assert (("Service", "aq-agentqueue-simulator") in names) is expected
    config = find(objs, "ConfigMap", "-config")["data"]
    assert ("AGENTQUEUE_SIMULATOR_URL" in config) is expected
    notes = render_files(values)["agentqueue/templates/NOTES.txt"]
    assert ("SIMULATED" in notes) is expected
    assert ("WARNING: no provider key" in notes) is (values == {"simulator": {"enabled": False}})


def test_in_chart_redis_keeps_an_append_only_file_on_a_claim() -> None:
    objs = render()
    sts = find(objs, "StatefulSet", "-redis")
    container = sts["spec"]["template"]["spec"]["containers"][0]
    args = container["args"]
    assert args[args.index("--appendonly") + 1] == "yes"
    assert args[args.index("--dir") + 1] == "/data"
    assert args[args.index("--requirepass") + 1] == "$(REDIS_PASSWORD)"
    assert args[args.index("--maxmemory-policy") + 1] == "noeviction"
    claim = sts["spec"]["volumeClaimTemplates"][0]
    assert claim["metadata"]["name"] == "data"
    assert claim["spec"]["resources"]["requests"]["storage"] == "8Gi"
    assert {"name": "data", "mountPath": "/data"} in container["volumeMounts"]
    env = resolve_env(container, objs)
    url = secret_data(find(objs, "Secret", "-env"))["AGENTQUEUE_REDIS_URL"]
    assert redis.connection.parse_url(url)["password"] == env["REDIS_PASSWORD"]
    assert env["REDISCLI_AUTH"] == env["REDIS_PASSWORD"] and len(env["REDIS_PASSWORD"]) >= 32

    # Claims outlive `helm uninstall` (NOTES.txt says so and how to delete them).
    assert sts["spec"]["persistentVolumeClaimRetentionPolicy"] == {
        "whenDeleted": "Retain",
        "whenScaled": "Retain",
    }
    assert "helm.sh/resource-policy" not in str(sts)  # not Helm's object: it would do nothing

    ephemeral = find(render({"redis": {"persistence": {"enabled": False}}}), "StatefulSet")
    assert "volumeClaimTemplates" not in ephemeral["spec"]
    assert {"name": "data", "emptyDir": {}} in ephemeral["spec"]["template"]["spec"]["volumes"]


@pytest.mark.parametrize(
    "storage_class,expected",
    [("", None), ("-", ""), ("fast-ssd", "fast-ssd")],
    ids=["cluster default", "none", "named"],
)
def test_redis_claim_storage_class(storage_class: str, expected: str | None) -> None:
    """Helm's convention: empty leaves storageClassName out (the default StorageClass), "-"
    sets it to "" (no class: binds a pre-created PersistentVolume only), else the name."""
    values = {"redis": {"persistence": {"storageClass": storage_class}}}
    for extra in ({}, {"sentinel": {"enabled": True}}):
        objs = render({"redis": {**values["redis"], **extra}})
        sts = find(objs, "StatefulSet", "-redis")
        validate(sts)
        (claim,) = sts["spec"]["volumeClaimTemplates"]
        assert claim["spec"].get("storageClassName") == expected
    notes = render_files(values)["agentqueue/templates/NOTES.txt"]
    assert "stays Pending" in notes
    assert "get pvc -l app.kubernetes.io/instance=aq,app.kubernetes.io/component=redis" in notes
    assert ("get storageclass" in notes) is (storage_class != "-")


def test_notes_say_what_uninstall_leaves_and_how_to_upgrade_crds() -> None:
    install = render_files({})["agentqueue/templates/NOTES.txt"]
    assert (
        "delete pvc -l app.kubernetes.io/instance=aq,app.kubernetes.io/component=redis" in install
    )
    assert "the CRDs" in install and "AgentQueues this release did not make" in install
    assert "--server-side" not in install
    upgrade = render_files({}, is_install=False, is_upgrade=True)["agentqueue/templates/NOTES.txt"]
    assert "kubectl apply --server-side --force-conflicts -f charts/agentqueue/crds/" in upgrade
    external = {"redis": {"enabled": False, "external": {"url": "redis://r:6379/0"}}}
    for values in (external, {"redis": {"persistence": {"enabled": False}}}):
        notes = render_files(values)["agentqueue/templates/NOTES.txt"]
        assert "PersistentVolumeClaim" not in notes and "delete pvc" not in notes


def test_a_given_redis_password_survives_url_encoding() -> None:
    password = "p@ss/word:with%odd&chars"
    objs = render({"redis": {"password": password}})
    data = secret_data(find(objs, "Secret", "-env"))
    assert data["REDIS_PASSWORD"] == password
    assert redis.connection.parse_url(data["AGENTQUEUE_REDIS_URL"])["password"] == password


def test_external_redis_leaves_no_redis_objects() -> None:
    scenario = next(p for p in SCENARIOS if p.name == "external-redis-values.yaml")
    objs = render(scenario_values(scenario))
    assert not [o for o in objs if o["metadata"]["name"].endswith("-redis")]
    assert "REDIS_PASSWORD" not in secret_data(find(objs, "Secret", "-env"))


def test_default_agentqueues_point_workers_at_the_chart_config() -> None:
    values = {
        "budgets": {
            "anthropic:claude-sonnet-4-6": {"rpm": 10, "tpm": 1000},
            "openai:gpt-4.1:team-a": {"rpm": 10, "tpm": 1000},
        },
        "queues": {"batch": {"budgets": ["openai:gpt-4.1:team-a"]}},
    }
    queues = {o["spec"]["queue"]: o for o in render(values) if o["kind"] == "AgentQueue"}
    assert set(queues) == {"high", "standard", "batch"}
    for name, queue in queues.items():
        spec = queue["spec"]
        assert queue["metadata"]["name"] == f"aq-agentqueue-{name}"
        assert spec["priority"] == name
        assert spec["worker"]["image"] == "agentqueue-worker:0.1.0"
        assert spec["worker"]["envFrom"] == [
            {"configMapRef": {"name": "aq-agentqueue-config"}},
            {"secretRef": {"name": "aq-agentqueue-env"}},
        ]
    assert queues["high"]["spec"]["budgets"] == [
        "anthropic:claude-sonnet-4-6:default",
        "openai:gpt-4.1:team-a",
    ]
    assert queues["batch"]["spec"]["budgets"] == ["openai:gpt-4.1:team-a"]
    assert queues["high"]["spec"]["scaleToZero"] is False
    assert queues["batch"]["spec"]["replicas"] == {"min": 0, "max": 20}

    only_standard = render(
        {
            "queues": {"high": {"enabled": False}, "batch": {"enabled": False}},
            "tests": {"priority": "standard"},
        }
    )
    assert [o["spec"]["queue"] for o in only_standard if o["kind"] == "AgentQueue"] == ["standard"]


@pytest.mark.parametrize("scope", ["namespace", "cluster"])
def test_operator_follows_the_contract(scope: str) -> None:
    objs = render({"operator": {"scope": scope}})
    deployment = find(objs, "Deployment", "-operator")
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert deployment["spec"]["replicas"] == 1
    assert container["command"] == ["python", "-m", "agentqueue.operator"]
    assert container["image"] == "agentqueue-operator:0.1.0"
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert {"name": "health", "containerPort": 8080, "protocol": "TCP"} in container["ports"]
    env = resolve_env(container, objs)
    assert env["AGENTQUEUE_OPERATOR_NAMESPACE"] == (NAMESPACE if scope == "namespace" else "")
    assert env["AGENTQUEUE_OPERATOR_PEERING"] == "aq-agentqueue"  # the release's fullname
    assert env["AGENTQUEUE_OPERATOR_INTERVAL"] == "3"
    assert env["POD_ID"] == "pod-0"  # kopf's peering identity, from the Pod's name
    assert env["AGENTQUEUE_LIMITER_URL"] == "http://aq-agentqueue-limiter:8091"
    peering = next(o for o in objs if o["apiVersion"] == "kopf.dev/v1")
    assert peering["kind"] == ("KopfPeering" if scope == "namespace" else "ClusterKopfPeering")
    assert peering["metadata"]["name"] == env["AGENTQUEUE_OPERATOR_PEERING"]
    operator_sa = find(objs, "ServiceAccount", "-operator")["metadata"]["name"]
    assert pod["serviceAccountName"] == operator_sa


def _peering(objs: list[dict[str, Any]]) -> tuple[str, str, str]:
    """(kind, name of the peering object, the name the operator is told to join)."""
    (peering,) = [o for o in objs if o["apiVersion"] == "kopf.dev/v1"]
    container = find(objs, "Deployment", "-operator")["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    return peering["kind"], peering["metadata"]["name"], env["AGENTQUEUE_OPERATOR_PEERING"]


def test_two_cluster_scoped_releases_get_peerings_of_their_own() -> None:
    """A ClusterKopfPeering is cluster-wide: two releases on one name would pause each other."""
    values = {"operator": {"scope": "cluster"}}
    one = _peering(render(values, name="one", namespace="team-a"))
    two = _peering(render(values, name="two", namespace="team-b"))
    assert one == ("ClusterKopfPeering", "one-agentqueue", "one-agentqueue")
    assert two == ("ClusterKopfPeering", "two-agentqueue", "two-agentqueue")
    override = {"fullnameOverride": "queues"}
    assert _peering(render({**values, **override}, name="x"))[1:] == ("queues", "queues")
    explicit = {"operator": {"scope": "cluster", "peering": "shared-peering"}}
    assert _peering(render(explicit, name="one"))[1:] == ("shared-peering", "shared-peering")


def test_services_select_their_pods_and_name_real_ports() -> None:
    objs = render({"monitoring": {"serviceMonitor": {"enabled": True}}})
    workloads = [o for o in objs if o["kind"] in ("Deployment", "StatefulSet")]
    for workload in workloads:
        labels = workload["spec"]["template"]["metadata"]["labels"]
        assert workload["spec"]["selector"]["matchLabels"].items() <= labels.items()
    for service in (o for o in objs if o["kind"] == "Service"):
        selector = service["spec"]["selector"]
        matched = [
            w
            for w in workloads
            if selector.items() <= w["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert len(matched) == 1, service["metadata"]["name"]
        ports = {
            p["name"]
            for c in matched[0]["spec"]["template"]["spec"]["containers"]
            for p in c.get("ports", [])
        }
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in ports
    monitors = [o for o in objs if o["kind"] == "ServiceMonitor"]
    assert len(monitors) == 2
    for monitor in monitors:  # unchecked by schema: check it selects a Service with its port
        selector = monitor["spec"]["selector"]["matchLabels"]
        services = [
            s
            for s in objs
            if s["kind"] == "Service" and selector.items() <= s["metadata"]["labels"].items()
        ]
        assert len(services) == 1
        port_names = {p["name"] for p in services[0]["spec"]["ports"]}
        assert {e["port"] for e in monitor["spec"]["endpoints"]} <= port_names


def test_image_registry_tag_and_digest_overrides() -> None:
    digest = "sha256:" + "a" * 64
    objs = render(
        {
            "image": {"registry": "registry.example.internal/team", "tag": "1.2.3"},
            "gateway": {"image": {"repository": "agentqueue-gateway", "tag": f"dev@{digest}"}},
        }
    )
    images = {
        o["metadata"]["name"]: o["spec"]["template"]["spec"]["containers"][0]["image"]
        for o in objs
        if o["kind"] == "Deployment"
    }
    prefix = "registry.example.internal/team/agentqueue"
    assert images["aq-agentqueue-gateway"] == f"{prefix}-gateway:dev@{digest}"
    assert images["aq-agentqueue-limiter"] == f"{prefix}-limiter:1.2.3"
    worker = next(o for o in objs if o["kind"] == "AgentQueue")["spec"]["worker"]["image"]
    assert worker == f"{prefix}-worker:1.2.3"


def test_helm_test_pod_submits_to_the_gateway_service() -> None:
    objs = render()
    pod = find(objs, "Pod", "-test-submit-task")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    container = pod["spec"]["containers"][0]
    gateway = find(objs, "Deployment", "-gateway")["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == gateway["image"]  # no extra image to pull
    env = resolve_env(container, objs)
    service = find(objs, "Service", "-gateway")
    assert (
        env["GATEWAY_URL"]
        == f"http://{service['metadata']['name']}:{service['spec']['ports'][0]['port']}"
    )
    assert env["AGENTQUEUE_API_KEYS"].startswith("default:")
    assert container["command"][:2] == ["python", "-c"]
    compile(container["command"][2], "helm-test", "exec")  # the script at least parses


def test_the_gateway_gets_a_bootstrap_admin_key_from_a_secret() -> None:
    """The admin API and the console need an admin: one is generated into the chart's
    api-keys Secret (kept across upgrades), never written into the Deployment; with the
    user's own Secret the key is optional there (absent: admin routes refuse)."""
    objs = render()
    gateway = find(objs, "Deployment", "-gateway")["spec"]["template"]["spec"]["containers"][0]
    entry = next(e for e in gateway["env"] if e["name"] == "AGENTQUEUE_ADMIN_KEY")
    assert "value" not in entry and entry["valueFrom"]["secretKeyRef"]["name"].endswith("-api-keys")
    assert resolve_env(gateway, objs)["AGENTQUEUE_ADMIN_KEY"].startswith("aqa_")
    given = render({"gateway": {"auth": {"adminKey": "aqa_" + "x" * 40}}})
    gateway = find(given, "Deployment", "-gateway")["spec"]["template"]["spec"]["containers"][0]
    assert resolve_env(gateway, given)["AGENTQUEUE_ADMIN_KEY"] == "aqa_" + "x" * 40
    own = render({"gateway": {"auth": {"existingSecret": "mine"}}})
    gateway = find(own, "Deployment", "-gateway")["spec"]["template"]["spec"]["containers"][0]
    ref = next(e for e in gateway["env"] if e["name"] == "AGENTQUEUE_ADMIN_KEY")
    assert ref["valueFrom"]["secretKeyRef"] == {
        "name": "mine",
        "key": "AGENTQUEUE_ADMIN_KEY",
        "optional": True,
    }

"""The interactive gateway (``gateway.interactive``): a second gateway Deployment and Service
for the calls a person waits on, so that chats get processes of their own while tasks and
sessions keep going to the main gateway (what ``agentqueue up`` does locally with
``StackConfig.interactive_port``).

Off by default, it adds nothing. On, it must run the gateway's very Pod (compared with the
gateway's as rendered, never restated), and be told apart from it by its component label:
each gateway's Service, PDB, HPA and NetworkPolicy select or target its own Pods only, the
NetworkPolicies admit it like the gateway and the ServiceMonitors scrape it.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

from agentqueue.operator.deployment import selector_labels
from tests.charts.rendering import SCENARIOS, admits, find, render, render_files, scenario_values
from tests.k8s.validation import CHART, validate

FULL = "aq-agentqueue-gateway-interactive"
MAIN = "aq-agentqueue-gateway"
COMPONENT = "app.kubernetes.io/component"
ON: dict[str, Any] = {"gateway": {"interactive": {"enabled": True}}}
MONITORED: dict[str, Any] = {
    "monitoring": {"serviceMonitor": {"enabled": True}, "podMonitor": {"enabled": True}},
}
EDGE = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "edge"}}}
PROM = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
STRANGER = {"app": "something-else"}


def _merge(*parts: dict[str, Any]) -> dict[str, Any]:
    """Values deep-merged left to right, as Helm merges -f files."""
    out: dict[str, Any] = {}
    for part in parts:
        for key, value in part.items():
            if isinstance(value, dict) and isinstance(out.get(key), dict):
                out[key] = _merge(out[key], value)
            else:
                out[key] = copy.deepcopy(value)
    return out


def _matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return selector.items() <= labels.items()


def _pod_labels(deployment: dict[str, Any]) -> dict[str, str]:
    labels: dict[str, str] = deployment["spec"]["template"]["metadata"]["labels"]
    return labels


def _gateways(objs: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the gateway's Deployment, the interactive gateway's)."""
    return find(objs, "Deployment", "-gateway"), find(objs, "Deployment", "-gateway-interactive")


def _selector(obj: dict[str, Any]) -> dict[str, str]:
    """The Pod selector of a Service, Deployment, PodDisruptionBudget or NetworkPolicy."""
    spec = obj["spec"]
    selector: dict[str, str]
    if obj["kind"] == "Service":
        selector = spec["selector"]
    elif obj["kind"] == "NetworkPolicy":
        selector = spec["podSelector"]["matchLabels"]
    else:
        assert "matchExpressions" not in spec["selector"], obj["metadata"]["name"]
        selector = spec["selector"]["matchLabels"]
    return selector


def _without_secrets(objs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every object but the Secrets, whose generated values differ at every render."""
    return [o for o in objs if o["kind"] != "Secret"]


# --- off -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [{}, MONITORED, {"networkPolicy": {"gatewayFrom": [EDGE], "metricsFrom": [PROM]}}],
    ids=["default", "monitored", "restricted"],
)
def test_off_it_renders_nothing_whatever_else_it_says(values: dict[str, Any]) -> None:
    objs = render(values)
    assert not [o for o in objs if "interactive" in o["metadata"]["name"]]
    for obj in objs:
        assert obj["metadata"].get("labels", {}).get(COMPONENT) != "gateway-interactive", obj
    # Its other keys, set while it is off, change nothing: the chart is as without them.
    tuned = {
        "enabled": False,
        "replicaCount": 5,
        "resources": {"requests": {"cpu": "1"}, "limits": {"memory": "1Gi"}},
        "service": {"type": "LoadBalancer", "port": 80},
        "pdb": {"enabled": True, "maxUnavailable": 2},
        "autoscaling": {"enabled": True, "minReplicas": 9, "maxReplicas": 3},
    }
    with_keys = render(_merge(values, {"gateway": {"interactive": tuned}}))
    assert _without_secrets(with_keys) == _without_secrets(objs)
    notes = render_files(values)["agentqueue/templates/NOTES.txt"]
    assert "interactive" not in notes.lower()


def test_off_the_gateway_objects_are_the_ones_it_always_had() -> None:
    """The gateway's own objects do not change with the interactive gateway on or off."""
    values = _merge(MONITORED, {"gateway": {"autoscaling": {"enabled": True}}})
    off, on = render(values), render(_merge(values, ON))
    for kind in ("Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"):
        assert find(on, kind, "-gateway") == find(off, kind, "-gateway"), kind
    assert find(on, "NetworkPolicy", "-gateway") == find(off, "NetworkPolicy", "-gateway")
    assert find(on, "ServiceMonitor", "-gateway") == find(off, "ServiceMonitor", "-gateway")
    added = {(o["kind"], o["metadata"]["name"]) for o in _without_secrets(on)}
    added -= {(o["kind"], o["metadata"]["name"]) for o in _without_secrets(off)}
    assert added == {
        ("Deployment", FULL),
        ("Service", FULL),
        ("PodDisruptionBudget", FULL),
        ("NetworkPolicy", FULL),
        ("ServiceMonitor", FULL),
    }


# --- on: its objects -----------------------------------------------------------------------


def test_on_its_deployment_service_pdb_and_hpa_render_and_validate() -> None:
    values = _merge(
        ON,
        {
            "gateway": {
                "interactive": {
                    "replicaCount": 3,
                    "service": {"type": "NodePort", "port": 9080},
                    "pdb": {"maxUnavailable": "50%"},
                }
            }
        },
    )
    objs = render(values)
    mine = [o for o in objs if o["metadata"]["name"] == FULL]
    assert {o["kind"] for o in mine} == {
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "NetworkPolicy",
    }
    for obj in mine:
        assert validate(obj) == "builtin", obj["kind"]
        assert obj["metadata"]["labels"][COMPONENT] == "gateway-interactive", obj["kind"]
    deployment = find(objs, "Deployment", "-gateway-interactive")
    assert deployment["spec"]["replicas"] == 3
    service = find(objs, "Service", "-gateway-interactive")
    assert service["spec"]["type"] == "NodePort"
    assert service["spec"]["ports"] == [
        {"name": "http", "port": 9080, "targetPort": "http", "protocol": "TCP"}
    ]
    assert find(objs, "PodDisruptionBudget", "-gateway-interactive")["spec"]["maxUnavailable"] == (
        "50%"
    )
    names = [(o["kind"], o["metadata"]["name"]) for o in objs]
    assert len(names) == len(set(names)), "two objects share a kind and name"

    scaled = render(
        _merge(
            ON,
            {
                "gateway": {
                    "interactive": {
                        "autoscaling": {
                            "enabled": True,
                            "minReplicas": 2,
                            "maxReplicas": 7,
                            "targetCPUUtilizationPercentage": 55,
                        },
                        "pdb": {"enabled": False},
                    }
                }
            },
        )
    )
    hpa = find(scaled, "HorizontalPodAutoscaler", "-gateway-interactive")
    assert validate(hpa) == "builtin"
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 7)
    target = hpa["spec"]["metrics"][0]["resource"]["target"]
    assert target == {"type": "Utilization", "averageUtilization": 55}
    # The HPA owns the replicas; the main gateway keeps its own (no HPA of its own here).
    assert "replicas" not in find(scaled, "Deployment", "-gateway-interactive")["spec"]
    assert find(scaled, "Deployment", "-gateway")["spec"]["replicas"] == 2
    assert not [o for o in scaled if o["kind"] == "HorizontalPodAutoscaler" and o is not hpa]
    assert not [
        o for o in scaled if o["kind"] == "PodDisruptionBudget" and o["metadata"]["name"] == FULL
    ]


POD_CASES: dict[str, dict[str, Any]] = {
    "default": {},
    "config file and its secrets": {
        "configFile": {"content": {"routing": {"strategy": "cost"}}, "secrets": {"k": "v"}}
    },
    "auth off, private registry": {
        "gateway": {"auth": {"disabled": True}},
        "image": {"registry": "registry.example.internal/team", "tag": "1.2.3"},
        "imagePullSecrets": ["regcred"],
        "nodeSelector": {"pool": "web"},
        "tolerations": [{"key": "web", "operator": "Exists", "effect": "NoSchedule"}],
    },
    **{
        p.name.removesuffix("-values.yaml"): scenario_values(p)
        for p in SCENARIOS
        if p.name
        in (
            "external-redis-tls-values.yaml",
            "external-redis-sentinels-values.yaml",
            "real-provider-keys-existing-secret-values.yaml",
            "redis-sentinel-values.yaml",
        )
    },
}


@pytest.mark.parametrize("values", POD_CASES.values(), ids=POD_CASES.keys())
def test_it_runs_the_gateways_very_pod(values: dict[str, Any]) -> None:
    """Image, command, env, envFrom, probes, ports, security contexts, volumes and their
    mounts, scheduling: all the gateway's, whatever the values make of them."""
    objs = render(_merge(values, ON))
    gateway, interactive = _gateways(objs)
    ours, theirs = interactive["spec"]["template"], gateway["spec"]["template"]
    assert ours["spec"] == theirs["spec"]  # resources too: empty means the gateway's
    assert ours["metadata"]["annotations"] == theirs["metadata"]["annotations"]  # checksums
    (container,) = ours["spec"]["containers"]
    (reference,) = theirs["spec"]["containers"]
    for field in ("env", "envFrom", "volumeMounts", "securityContext", "command", "image"):
        assert container.get(field) == reference.get(field), field
    assert ours["spec"].get("volumes") == theirs["spec"].get("volumes")
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["runAsNonRoot"] is True
    assert ours["spec"]["automountServiceAccountToken"] is False
    # The labels differ in the component alone.
    labels, reference_labels = _pod_labels(interactive), _pod_labels(gateway)
    assert set(labels) == set(reference_labels)
    assert {k for k in labels if labels[k] != reference_labels[k]} == {COMPONENT}
    assert labels[COMPONENT] == "gateway-interactive"
    for obj in (gateway, interactive):
        assert validate(obj) == "builtin"


def test_its_resources_are_its_own_when_given() -> None:
    own = {"requests": {"cpu": "500m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}}
    objs = render(_merge(ON, {"gateway": {"interactive": {"resources": own}}}))
    gateway, interactive = _gateways(objs)
    (container,) = interactive["spec"]["template"]["spec"]["containers"]
    (reference,) = gateway["spec"]["template"]["spec"]["containers"]
    assert container["resources"] == own
    assert reference["resources"] == {
        "requests": {"cpu": "100m", "memory": "192Mi"},
        "limits": {"memory": "512Mi"},
    }
    assert {k: v for k, v in container.items() if k != "resources"} == {
        k: v for k, v in reference.items() if k != "resources"
    }


# --- on: who selects whom ------------------------------------------------------------------

EVERYTHING_ON = _merge(
    ON,
    MONITORED,
    {
        "gateway": {
            "autoscaling": {"enabled": True},
            "interactive": {"autoscaling": {"enabled": True}},
        },
        "simulator": {"enabled": True},
    },
)


def test_each_gateways_selectors_pick_its_own_pods_only() -> None:
    objs = render(EVERYTHING_ON)
    gateway, interactive = _gateways(objs)
    pods = {MAIN: _pod_labels(gateway), FULL: _pod_labels(interactive)}
    assert pods[MAIN][COMPONENT] == "gateway"
    for kind in ("Deployment", "Service", "PodDisruptionBudget", "NetworkPolicy"):
        for name in (MAIN, FULL):
            (obj,) = [o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name]
            selected = {n for n, labels in pods.items() if _matches(_selector(obj), labels)}
            assert selected == {name}, (kind, name, selected)
    # No other selector of the chart picks the interactive Pods (the agentqueue peers of the
    # NetworkPolicies aside: those admit, they do not select).
    selecting = ("Deployment", "StatefulSet", "Service", "PodDisruptionBudget", "NetworkPolicy")
    for obj in objs:
        if obj["kind"] in selecting and obj["metadata"]["name"] != FULL:
            assert not _matches(_selector(obj), pods[FULL]), obj["metadata"]["name"]


def test_its_service_targets_its_pods_and_their_port() -> None:
    objs = render(EVERYTHING_ON)
    service = find(objs, "Service", "-gateway-interactive")
    workloads = [o for o in objs if o["kind"] in ("Deployment", "StatefulSet")]
    matched = [w for w in workloads if _matches(service["spec"]["selector"], _pod_labels(w))]
    assert [w["metadata"]["name"] for w in matched] == [FULL]
    ports = {
        p["name"]: p["containerPort"]
        for c in matched[0]["spec"]["template"]["spec"]["containers"]
        for p in c["ports"]
    }
    (port,) = service["spec"]["ports"]
    assert port["targetPort"] in ports
    (container,) = matched[0]["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["AGENTQUEUE_PORT"] == str(ports[port["targetPort"]])  # the process listens there


def test_each_hpa_scales_its_own_deployment() -> None:
    objs = render(EVERYTHING_ON)
    hpas = {o["metadata"]["name"]: o for o in objs if o["kind"] == "HorizontalPodAutoscaler"}
    assert set(hpas) == {MAIN, FULL}
    deployments = {o["metadata"]["name"]: o for o in objs if o["kind"] == "Deployment"}
    for name, hpa in hpas.items():
        ref = hpa["spec"]["scaleTargetRef"]
        assert ref == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        assert "replicas" not in deployments[name]["spec"]


def test_the_network_policies_admit_it_like_the_gateway() -> None:
    for network in ({}, {"gatewayFrom": [EDGE], "metricsFrom": [PROM]}):
        objs = render(_merge(EVERYTHING_ON, {"networkPolicy": network}))
        policies = {o["metadata"]["name"]: o for o in objs if o["kind"] == "NetworkPolicy"}
        ours, theirs = policies[FULL], policies[MAIN]
        # Its own ingress is the gateway's: the same port, the same peers.
        assert ours["spec"]["ingress"] == theirs["spec"]["ingress"]
        assert ours["spec"]["policyTypes"] == theirs["spec"]["policyTypes"] == ["Ingress"]
        # and it may reach what the gateway reaches (egress is never restricted).
        gateway, interactive = _gateways(objs)
        for component, port in (("redis", 6379), ("limiter", 8091), ("simulator", 8090)):
            policy = policies[f"aq-agentqueue-{component}"]
            assert admits(policy, _pod_labels(interactive), port), component
            assert admits(policy, _pod_labels(gateway), port), component
        assert not any("Egress" in p["spec"]["policyTypes"] for p in policies.values())
        if network:
            assert not admits(ours, STRANGER, 8080)
            assert admits(ours, selector_labels("aq-agentqueue-high"), 8080)  # workers
            peers = ours["spec"]["ingress"][0]["from"]
            assert EDGE in peers and PROM in peers  # the clients, and the scraper
        else:
            assert admits(ours, STRANGER, 8080)  # a front door, like the gateway


def test_helm_test_streams_a_chat_through_it_when_on() -> None:
    """`helm test` checks the Service interactive clients use, and may reach it."""
    off = find(render(), "Pod", "-test-submit-task")["spec"]["containers"][0]["env"]
    assert "INTERACTIVE_URL" not in [e["name"] for e in off]
    for network in ({}, {"gatewayFrom": [EDGE]}):
        objs = render(_merge(ON, {"networkPolicy": network}))
        pod = find(objs, "Pod", "-test-submit-task")
        env = {e["name"]: e.get("value") for e in pod["spec"]["containers"][0]["env"]}
        service = find(objs, "Service", "-gateway-interactive")
        port = service["spec"]["ports"][0]["port"]
        assert env["INTERACTIVE_URL"] == f"http://{service['metadata']['name']}:{port}"
        policy = find(objs, "NetworkPolicy", "-gateway-interactive")
        named = service["spec"]["ports"][0]["targetPort"]
        container = find(objs, "Deployment", "-gateway-interactive")["spec"]["template"]["spec"]
        ports = {p["name"]: p["containerPort"] for p in container["containers"][0]["ports"]}
        assert admits(policy, pod["metadata"]["labels"], ports[named])


def test_the_service_monitors_scrape_it_and_the_pod_monitors_leave_it() -> None:
    objs = render(EVERYTHING_ON)
    monitors = {o["metadata"]["name"]: o for o in objs if o["kind"] == "ServiceMonitor"}
    assert set(monitors) == {MAIN, FULL, "aq-agentqueue-limiter"}
    services = [o for o in objs if o["kind"] == "Service"]
    for name in (MAIN, FULL):
        monitor = monitors[name]
        selected = [
            s
            for s in services
            if _matches(monitor["spec"]["selector"]["matchLabels"], s["metadata"]["labels"])
        ]
        assert [s["metadata"]["name"] for s in selected] == [name]
        port_names = {p["name"] for p in selected[0]["spec"]["ports"]}
        for endpoint in monitor["spec"]["endpoints"]:
            assert endpoint["port"] in port_names and endpoint["path"] == "/metrics"
    assert monitors[FULL]["spec"]["endpoints"] == monitors[MAIN]["spec"]["endpoints"]
    # Scraped once: no PodMonitor picks the interactive Pods as well.
    _, interactive = _gateways(objs)
    for monitor in (o for o in objs if o["kind"] == "PodMonitor"):
        selector = monitor["spec"]["selector"]
        keys = {e["key"] for e in selector.get("matchExpressions", [])}
        assert not (
            _matches(selector["matchLabels"], _pod_labels(interactive))
            and keys <= set(_pod_labels(interactive))
        ), monitor["metadata"]["name"]


def test_the_dashboards_gateway_panels_read_both_gateways() -> None:
    """A ServiceMonitor's job label is its Service's name: the dashboard's gateway queries
    must match both gateways' and nothing else's."""
    dashboard = json.loads((CHART / "dashboards" / "agentqueue.json").read_text())
    panels = [p for row in dashboard["panels"] for p in [row, *row.get("panels", [])]]
    exprs = [t["expr"] for p in panels for t in p.get("targets", [])]
    jobs = {m for e in exprs for m in re.findall(r'job=~"((?:[^"\\]|\\.)*)"', e)}
    assert jobs, "no query selects the gateway by job"
    monitored = [o["metadata"]["name"] for o in render(EVERYTHING_ON) if o["kind"] == "Service"]
    for pattern in jobs:  # PromQL anchors its regular expressions
        matched = {name for name in monitored if re.fullmatch(pattern, name)}
        assert matched == {MAIN, FULL}, (pattern, matched)


# --- notes and values ----------------------------------------------------------------------


def test_notes_name_the_service_interactive_clients_use() -> None:
    values = _merge(ON, {"gateway": {"interactive": {"service": {"port": 9080}}}})
    notes = render_files(values)["agentqueue/templates/NOTES.txt"]
    url = f"http://{FULL}.agentqueue.svc:9080"
    assert f'base_url="{url}/v1"' in notes  # OpenAI SDK
    assert f'base_url="{url}"' in notes  # Anthropic SDK
    assert f"port-forward svc/{FULL} 8081:9080" in notes
    assert f"keep going to {MAIN}:" in notes
    service = find(render(values), "Service", "-gateway-interactive")
    assert service["metadata"]["name"] == FULL and service["spec"]["ports"][0]["port"] == 9080


def test_a_ci_scenario_turns_it_on() -> None:
    """helm lint and the scenario-wide tests (schema, security, every process's settings)
    then cover it."""
    on = [
        p.name
        for p in SCENARIOS
        if scenario_values(p).get("gateway", {}).get("interactive", {}).get("enabled")
    ]
    assert "gateway-autoscaling-values.yaml" in on and "monitoring-on-values.yaml" in on

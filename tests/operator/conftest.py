"""Fixtures for running the operator for real: kopf against kmock's Kubernetes API
emulator, a real Redis (tests/conftest.py), and the real limiter service over HTTP.

The emulator stores and streams objects but runs no controllers and assigns no names,
so two small additions: objects POSTed with only ``generateName`` (kopf's Events) get a
name, as the API server would give them (otherwise every Event after the first is a 409);
and :func:`refusing` makes it refuse a request as the API server does (RBAC's 403, a 5xx)
before it stores anything. (kmock's own reactions, ``kube[...] << 403``, answer the
request but the emulator still stores the object: a refused create would exist.)
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import kmock
import pytest
import yaml
from pydantic import SecretStr

from agentqueue.limiter.app import create_app
from agentqueue.limiter.settings import LimiterSettings
from agentqueue.operator.settings import OperatorSettings

# the bench serves the same API (and runs the operator: bench.kube_harness.running_operator)
from bench.kube_harness import declare_resources, kubeconfig
from tests.servers import serving

AQ = "agentqueue.io/v1alpha1/agentqueues"
DEPLOYMENTS = "apps/v1/deployments"
EVENTS = "v1/events"
NS = "ns1"
BUDGET = "anthropic:claude-sonnet-4-6:default"

_names = itertools.count()


@dataclass
class Refusal:
    """Requests the emulator refuses while it is on, and how many it refused."""

    action: kmock.action
    resource: kmock.resource
    subresource: str | None
    error: kmock.KubernetesError
    count: int = 0

    def matches(self, request: Any) -> bool:
        return bool(
            request.action == self.action
            and request.resource == self.resource
            and request.subresource == self.subresource
        )


class NamingEmulator(kmock.KubernetesEmulator):
    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self.refusals: list[Refusal] = []

    async def _handle(self, request: Any) -> Any:
        for refusal in self.refusals:
            if refusal.matches(request):
                refusal.count += 1
                raise refusal.error  # rendered as a Kubernetes Status with its code
        if request.action == kmock.action.CREATE and isinstance(request.data, dict):
            meta = request.data.setdefault("metadata", {})
            if not meta.get("name") and meta.get("generateName"):
                meta["name"] = f"{meta['generateName']}{next(_names)}"
        return await super()._handle(request)


@contextlib.contextmanager
def refusing(
    k8s: kmock.KubernetesEmulator,
    action: kmock.action,
    resource: str,
    error: kmock.KubernetesError,
    *,
    subresource: str | None = None,
) -> Iterator[Refusal]:
    """While inside: ``action`` on ``resource`` answers ``error`` and changes nothing."""
    refusal = Refusal(action, kmock.resource(resource), subresource, error)
    refusals: list[Refusal] = k8s.refusals  # type: ignore[attr-defined]
    refusals.append(refusal)
    try:
        yield refusal
    finally:
        refusals.remove(refusal)


@pytest.fixture
def kube(kmock: kmock.KubernetesEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The emulator, and a kubeconfig pointing at it (how the operator logs in)."""
    declare_resources(kmock)
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(kubeconfig(str(kmock.url), user="op")))
    monkeypatch.setenv("KUBECONFIG", str(path))
    return kmock


@pytest.fixture
def kmock_options(kmock_options: dict[str, Any]) -> dict[str, Any]:
    """kmock's own options, with our naming emulator as the server class."""
    return {**kmock_options, "cls": NamingEmulator}


@contextlib.contextmanager
def serve_limiter(redis_url: str, budgets: dict[str, dict[str, float]]) -> Iterator[str]:
    """The real limiter app over HTTP on 127.0.0.1, in a thread."""
    settings = LimiterSettings(redis_url=SecretStr(redis_url), budgets=budgets)
    with serving(create_app(settings), name="limiter") as url:
        yield url


def operator_settings(redis_url: str, limiter_url: str | None, **changes: Any) -> OperatorSettings:
    base: dict[str, Any] = {
        "redis_url": SecretStr(redis_url),
        "limiter_url": limiter_url,
        "operator_namespace": NS,
        "operator_interval": 0.3,
        "operator_standalone": True,
        "operator_health_port": 0,
        # Generous: the limiter is served from a thread of this busy process, and a slow
        # answer on a loaded machine must not read as "unreachable" (a closed port still
        # fails at once).
        "operator_limiter_timeout": 5.0,
    }
    base.update(changes)
    return OperatorSettings(**base)


async def eventually(
    check: Callable[[], Any], *, timeout: float = 10.0, every: float = 0.05
) -> Any:
    """Poll ``check`` until it returns something truthy; its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if isinstance(value, Awaitable):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {check}")
        await asyncio.sleep(every)


def agent_queue(name: str = "standard", **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "queue": "standard",
        "worker": {
            "image": "agentqueue-worker:test",
            "concurrency": 4,
            "shutdownTimeoutSeconds": 20,
        },
        "replicas": {"min": 0, "max": 10},
        "targetMessagesPerReplica": 5,
        "drainTimeSeconds": 600,
        "budgets": [BUDGET],
        "tokensPerMinutePerReplica": 1000,
        "scaleDown": {"stabilizationSeconds": 0},
        "scaleToZero": True,
    }
    body.update(spec)
    return {
        "apiVersion": "agentqueue.io/v1alpha1",
        "kind": "AgentQueue",
        "metadata": {
            "name": name,
            "namespace": NS,
            # What the API server would assign; the emulator does not.
            "uid": f"uid-{name}",
            "resourceVersion": "1",
            "generation": 1,
        },
        "spec": body,
    }


async def apply(k8s: kmock.KubernetesEmulator, body: dict[str, Any]) -> None:
    """``kubectl apply`` of a new object: a POST the operator sees on its watch."""
    async with httpx.AsyncClient(base_url=str(k8s.url)) as client:
        url = f"/apis/agentqueue.io/v1alpha1/namespaces/{NS}/agentqueues"
        response = await client.post(url, json=body)
        response.raise_for_status()


def obj(k8s: kmock.KubernetesEmulator, resource: str, name: str) -> dict[str, Any] | None:
    key = (kmock.resource(resource), NS, name)
    if key not in k8s.objects or k8s.objects[key].deleted:
        return None
    raw: dict[str, Any] = k8s.objects[key].raw
    return raw


def status(k8s: kmock.KubernetesEmulator, name: str = "standard") -> dict[str, Any]:
    body = obj(k8s, AQ, name) or {}
    return dict(body.get("status") or {})


def condition(k8s: kmock.KubernetesEmulator, type_: str, name: str = "standard") -> dict[str, Any]:
    for c in status(k8s, name).get("conditions") or []:
        if c["type"] == type_:
            return dict(c)
    return {}


def events(k8s: kmock.KubernetesEmulator) -> list[dict[str, Any]]:
    out = []
    for (res, _ns, _name), value in k8s.objects.items():
        if res == kmock.resource(EVENTS) and not value.deleted:
            out.append(value.raw)
    return out


def reconciles(k8s: kmock.KubernetesEmulator) -> int:
    """How many reconciles have run: each ends writing the AgentQueue's status, once."""
    return len(k8s[kmock.action.UPDATE, kmock.resource(AQ), kmock.subresource("status")])

"""A Kubernetes API for benches: kmock's emulator on a local port, with a request clock.

What ``tests/operator/conftest.py`` does for the operator tests, for benches (which do not
import tests): the emulator serves the discovery a cluster with our CRD installed would
serve, names objects POSTed with only ``generateName`` (kopf's Events), and a kubeconfig
pointing at it is exported as ``KUBECONFIG`` (how the operator logs in). On top, it
timestamps the requests a bench times against: each GET of a Deployment (the operator's
reconcile starts with one) and each PATCH of one, with the replicas it left.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import kmock
import kopf

from agentqueue.operator.runner import run_operator
from agentqueue.operator.settings import OperatorSettings

AQ = "agentqueue.io/v1alpha1/agentqueues"
DEPLOYMENTS = "apps/v1/deployments"
EVENTS = "v1/events"
NS = "bench"


@dataclass(frozen=True)
class Hit:
    """One request the emulator served: when (``time.monotonic()``), what, on which object."""

    at: float
    #: The HTTP method: GET, PATCH, POST…
    method: str
    name: str | None
    #: For a PATCH of a Deployment: its ``spec.replicas`` once patched.
    replicas: int | None = None


class ClockedEmulator(kmock.KubernetesEmulator):
    """kmock's emulator that names generateName objects and clocks Deployment requests."""

    _names = itertools.count()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.hits: list[Hit] = []
        self.changed = asyncio.Event()  # set on every clocked hit; waiters clear it

    async def _handle(self, request: Any) -> Any:
        if request.action == kmock.action.CREATE and isinstance(request.data, dict):
            meta = request.data.setdefault("metadata", {})
            if not meta.get("name") and meta.get("generateName"):
                meta["name"] = f"{meta['generateName']}{next(self._names)}"
        try:
            return await super()._handle(request)
        finally:  # a 404 is raised, and a GET of a missing Deployment still counts
            if request.resource == kmock.resource(DEPLOYMENTS) and request.name:
                method = str(getattr(request.method, "value", request.method)).upper()
                replicas = None
                if method == "PATCH":
                    replicas = deployment_replicas(self, request.name)
                self.hits.append(Hit(time.monotonic(), method, request.name, replicas))
                self.changed.set()


def declare_resources(k8s: kmock.KubernetesEmulator) -> None:
    """The API discovery a cluster with our CRD installed would serve."""
    rw = ["get", "list", "watch", "create", "patch", "update", "delete"]
    k8s.resources[AQ] = kmock.ResourceInfo(
        kind="AgentQueue", singular="agentqueue", namespaced=True, verbs=rw,
        shortnames=["aq"], subresources=["status"],
    )  # fmt: skip
    k8s.resources[DEPLOYMENTS] = kmock.ResourceInfo(
        kind="Deployment", singular="deployment", namespaced=True, verbs=rw
    )
    k8s.resources[EVENTS] = kmock.ResourceInfo(
        kind="Event", singular="event", namespaced=True, verbs=rw
    )
    k8s.resources["v1/namespaces"] = kmock.ResourceInfo(
        kind="Namespace", singular="namespace", namespaced=False, verbs=["get", "list", "watch"]
    )


def kubeconfig(server: str, *, user: str) -> dict[str, Any]:
    """A kubeconfig whose one context logs ``user`` in to ``server`` with a token."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "emu", "cluster": {"server": server.rstrip("/")}}],
        "users": [{"name": user, "user": {"token": user}}],
        "contexts": [{"name": "emu", "context": {"cluster": "emu", "user": user}}],
        "current-context": "emu",
    }


@contextlib.asynccontextmanager
async def emulated_cluster() -> AsyncIterator[ClockedEmulator]:
    """The emulator served on 127.0.0.1, ``KUBECONFIG`` pointing at it meanwhile."""
    async with ClockedEmulator() as k8s, kmock.Server(k8s):
        declare_resources(k8s)
        config = kubeconfig(str(k8s.url), user="bench")
        with tempfile.TemporaryDirectory(prefix="aq-bench-kube-") as tmp:
            path = Path(tmp) / "kubeconfig"
            path.write_text(json.dumps(config))  # JSON is YAML
            saved = os.environ.get("KUBECONFIG")
            os.environ["KUBECONFIG"] = str(path)
            try:
                yield k8s
            finally:
                if saved is None:
                    os.environ.pop("KUBECONFIG", None)
                else:
                    os.environ["KUBECONFIG"] = saved


def _tune(kopf_settings: kopf.OperatorSettings) -> None:
    kopf_settings.scanning.disabled = True  # no CRD or namespace watching in the emulator
    kopf_settings.watching.reconnect_backoff = 0.1


@contextlib.asynccontextmanager
async def running_operator(settings: OperatorSettings) -> AsyncIterator[None]:
    """The real operator (:func:`run_operator`) in this event loop, stopped on exit."""
    stop = asyncio.Event()
    task = asyncio.create_task(run_operator(settings, stop_flag=stop, tune=_tune))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=20)


def agent_queue(name: str, **spec: Any) -> dict[str, Any]:
    """An AgentQueue as ``kubectl apply`` would send it (with what the server assigns)."""
    return {
        "apiVersion": "agentqueue.io/v1alpha1",
        "kind": "AgentQueue",
        "metadata": {
            "name": name,
            "namespace": NS,
            "uid": f"uid-{name}",  # what the API server would assign; the emulator does not
            "resourceVersion": "1",
            "generation": 1,
        },
        "spec": spec,
    }


async def create(k8s: kmock.KubernetesEmulator, path: str, body: dict[str, Any]) -> None:
    """POST ``body`` to the collection at ``path`` (what ``kubectl apply`` of a new one does)."""
    async with httpx.AsyncClient(base_url=str(k8s.url)) as client:
        response = await client.post(path, json=body)
        response.raise_for_status()


def aq_path() -> str:
    return f"/apis/agentqueue.io/v1alpha1/namespaces/{NS}/agentqueues"


def deployments_path(name: str | None = None) -> str:
    base = f"/apis/apps/v1/namespaces/{NS}/deployments"
    return f"{base}/{name}" if name else base


def deployment_replicas(k8s: kmock.KubernetesEmulator, name: str) -> int | None:
    """A Deployment's ``spec.replicas`` as the emulator stores it; None if it has none."""
    key = (kmock.resource(DEPLOYMENTS), NS, name)
    if key not in k8s.objects or k8s.objects[key].deleted:
        return None
    raw: dict[str, Any] = k8s.objects[key].raw
    return int((raw.get("spec") or {}).get("replicas") or 0)


async def wait_for(
    k8s: ClockedEmulator, check: Callable[[], Any], *, timeout: float, what: str
) -> Any:
    """Wait until ``check()`` is truthy, re-checking on every clocked request (and 20x/s)."""
    deadline = time.monotonic() + timeout
    while True:
        k8s.changed.clear()
        value = check()
        if value:
            return value
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"not within {timeout:g}s: {what}")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(k8s.changed.wait(), timeout=min(left, 0.05))

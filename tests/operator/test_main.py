"""``python -m agentqueue.operator`` as the chart runs it: a separate process configured
only by environment variables (the contract's names), logging in with a kubeconfig,
scanning the cluster's CRDs (ours, as the chart installs it) and serving /healthz."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from agentqueue.core.base.ports import free_port
from tests.operator.conftest import DEPLOYMENTS, agent_queue, apply, eventually, obj

pytestmark = pytest.mark.slow

CRD = Path(__file__).parents[2] / "charts/agentqueue/crds/agentqueues.agentqueue.io.yaml"


async def _healthy(url: str) -> bool:
    try:
        async with httpx.AsyncClient(timeout=0.5) as client:
            return (await client.get(url)).status_code == 200
    except httpx.HTTPError:
        return False


async def _desired(port: int) -> str | None:
    """The operator's /metrics once it has recorded a reconcile, else None."""
    try:
        async with httpx.AsyncClient(timeout=0.5) as client:
            text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
    except httpx.HTTPError:
        return None
    return text if "agentqueue_operator_desired_replicas{" in text else None


async def test_the_entry_point_runs_from_the_contracts_environment(
    kube: Any, redis_url: str, tmp_path: Path
) -> None:
    import kmock

    kube.resources["apiextensions.k8s.io/v1/customresourcedefinitions"] = kmock.ResourceInfo(
        kind="CustomResourceDefinition", singular="customresourcedefinition",
        namespaced=False, verbs=["get", "list", "watch"],
    )  # fmt: skip
    crd = yaml.safe_load(CRD.read_text())
    kube.objects[
        "apiextensions.k8s.io/v1/customresourcedefinitions", None, crd["metadata"]["name"]
    ] = crd

    port, metrics_port = free_port(), free_port()
    env = {
        **os.environ,
        "AGENTQUEUE_REDIS_URL": redis_url,
        # All namespaces: kmock cannot parse kopf's namespace listing (GET /api/v1/namespaces)
        # that a single-namespace operator makes; the in-process tests cover that mode.
        "AGENTQUEUE_OPERATOR_NAMESPACE": "",
        "AGENTQUEUE_OPERATOR_INTERVAL": "0.5",
        "AGENTQUEUE_OPERATOR_STANDALONE": "true",
        "AGENTQUEUE_OPERATOR_HEALTH_HOST": "127.0.0.1",
        "AGENTQUEUE_OPERATOR_HEALTH_PORT": str(port),
        "AGENTQUEUE_OPERATOR_METRICS_PORT": str(metrics_port),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agentqueue.operator", env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    dep, metrics = None, ""
    try:
        await eventually(lambda: _healthy(f"http://127.0.0.1:{port}/healthz"), timeout=20)
        await apply(kube, agent_queue(budgets=[]))
        dep = await eventually(lambda: obj(kube, DEPLOYMENTS, "standard-worker"), timeout=10)
        metrics = await eventually(lambda: _desired(metrics_port), timeout=10)
    except AssertionError:
        pass  # reported below, with the operator's output
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = await asyncio.wait_for(proc.communicate(), timeout=20)
    output = out.decode()
    assert dep is not None and dep["spec"]["replicas"] == 0, output
    assert proc.returncode == 0, output
    # The chart's dashboard and queue-age alert read these (charts/agentqueue/rules).
    assert 'agentqueue_queue_objective_seconds{agentqueue="standard"' in metrics, metrics
    assert 'agentqueue_operator_scale_reason{agentqueue="standard"' in metrics, metrics

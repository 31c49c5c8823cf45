"""A Python script run in an interpreter of its own, where nothing was loaded or warmed
before: what a service does at start is then visible. Shared by the start-up tests."""

from __future__ import annotations

import subprocess
import sys

#: Builds a worker's runner, as ``python -m agentqueue.worker`` does at start.
WORKER_START = (
    "from agentqueue.worker.__main__ import build_runner\n"
    "from agentqueue.worker.settings import WorkerSettings\n"
    "build_runner(WorkerSettings())"
)


def gateway_start(redis_url: str) -> str:
    """Starts a gateway on ``redis_url`` and waits until it says it is ready."""
    return (
        "from fastapi.testclient import TestClient\n"
        "from pydantic import SecretStr\n"
        "from agentqueue.gateway.app import create_app\n"
        "from agentqueue.gateway.settings import GatewaySettings\n"
        f"settings = GatewaySettings(redis_url=SecretStr({redis_url!r}), "
        "api_keys=SecretStr('t:k-0123456789abcdef'))\n"
        "with TestClient(create_app(settings)) as client:\n"
        "    assert client.get('/readyz').status_code == 200"
    )


def run_fresh(script: str) -> list[str]:
    """Run ``script`` in a new interpreter; the words it printed."""
    ran = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
    return ran.stdout.split()

"""The `helm test` Pod's script, run for real against a local stack.

The script is taken from the rendered Pod and run with the environment the Pod would have
(GATEWAY_URL, AGENTQUEUE_API_KEYS, ...), against the same processes a cluster runs: gateway,
limiter, simulator and a worker on the `high` queue, on a private Redis.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentqueue.cli.stack import RunningStack, StackConfig, start_stack
from agentqueue.core.base.ports import free_port
from tests.charts.rendering import find, render

pytestmark = pytest.mark.slow


@pytest.fixture
def stack(redis_url: str) -> Iterator[RunningStack]:
    running = start_stack(
        StackConfig(
            redis_url=redis_url,
            gateway_port=free_port(),
            simulator_port=free_port(),
            worker_threads=2,
            queues=("high",),
            simulator_env={"AGENTQUEUE_SIM_SPEED": "0"},
            log_dir=Path(tempfile.mkdtemp(prefix="aq-helm-test-")),
        )
    )
    try:
        yield running
    finally:
        running.stop()


def _run_script(
    gateway_url: str, api_keys: str, timeout: int, interactive_url: str | None = None
) -> subprocess.CompletedProcess[str]:
    values: dict[str, Any] = {"tests": {"timeoutSeconds": timeout}}
    if interactive_url:
        values["gateway"] = {"interactive": {"enabled": True}}
    pod = find(render(values), "Pod", "-test-submit-task")
    container = pod["spec"]["containers"][0]
    env = {e["name"]: e.get("value", "") for e in container["env"] if "value" in e}
    env.update(GATEWAY_URL=gateway_url, AGENTQUEUE_API_KEYS=api_keys)
    if interactive_url:
        env["INTERACTIVE_URL"] = interactive_url
    assert container["command"][:2] == ["python", "-c"]
    return subprocess.run(
        [sys.executable, "-c", container["command"][2]],
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=timeout + 30,
    )


def test_helm_test_script_passes_when_a_task_succeeds(stack: RunningStack) -> None:
    done = _run_script(stack.gateway_url, f"local:{stack.api_key},other:x", timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "submitted task_" in done.stdout and "succeeded:" in done.stdout


def test_helm_test_script_streams_through_the_interactive_gateway_when_on(
    stack: RunningStack,
) -> None:
    """The stack's gateway serves chats too: it stands for the interactive one here."""
    done = _run_script(
        stack.gateway_url, f"local:{stack.api_key}", timeout=60, interactive_url=stack.gateway_url
    )
    assert done.returncode == 0, done.stdout + done.stderr
    streamed = [line for line in done.stdout.splitlines() if line.startswith("interactive")]
    assert len(streamed) == 1 and len(streamed[0]) > len("interactive streamed: ")


def test_helm_test_script_fails_when_the_interactive_gateway_refuses(stack: RunningStack) -> None:
    """A wrong address for it (a path the gateway does not serve) fails the test, by name."""
    done = _run_script(
        stack.gateway_url,
        f"local:{stack.api_key}",
        timeout=60,
        interactive_url=stack.gateway_url + "/nope",
    )
    assert done.returncode != 0
    assert "interactive gateway answered 404" in done.stderr


def test_helm_test_script_fails_on_a_wrong_key(stack: RunningStack) -> None:
    done = _run_script(stack.gateway_url, "local:not-the-key-0123456789", timeout=10)
    assert done.returncode != 0
    assert "submit answered 401" in done.stderr

"""``agentqueue top`` in a real terminal: a tmux pane, read back with ``capture-pane``,
against a running stack (simulator, limiter, gateway, one worker thread on ``standard``,
the simulator at a real model's latency so that submitted tasks queue up) while a
workload runs: the screen must show a non-zero depth and a non-zero spend, and ``q``
must end the command cleanly.

tmux is installed by ``.ci/run`` (which sets ``AGENTQUEUE_REQUIRE_TMUX=1``): the test
skips without tmux only outside CI (neither that nor ``CI`` set).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from agentqueue.cli.stack import RunningStack, StackConfig, start_stack
from agentqueue.core.base.ports import free_port

pytestmark = pytest.mark.slow

TASKS = 12
#: Seconds the screen may take to show what it must.
SCREEN_TIMEOUT = 120.0

_DEPTH = re.compile(r"│\s*standard\s+([\d,]+)\s")
_SPEND = re.compile(r"total\s+\$([\d,]+\.\d+)")


def _tmux_or_skip() -> str:
    tmux = shutil.which("tmux")
    if tmux is None:
        if os.environ.get("CI") or os.environ.get("AGENTQUEUE_REQUIRE_TMUX") == "1":
            pytest.fail("tmux is required in CI (.ci/run installs it) but not installed")
        pytest.skip("tmux is not installed")
    return tmux


@pytest.fixture
def tmux() -> str:
    return _tmux_or_skip()


@pytest.fixture
def stack(tmux: str, redis_url: str, tmp_path: Path) -> Iterator[RunningStack]:
    """The stack (started only once tmux is known to be there)."""
    running = start_stack(
        StackConfig(
            redis_url=redis_url,
            gateway_port=free_port(),
            simulator_port=free_port(),
            worker_threads=1,
            queues=("standard",),
            # a real model's latency: one thread runs a task in about a second or two
            simulator_env={"AGENTQUEUE_SIM_SPEED": "1"},
            log_dir=tmp_path / "logs",
        )
    )
    try:
        yield running
    finally:
        running.stop()


class Pane:
    """One tmux session on a private server socket (never the user's tmux server)."""

    def __init__(self, tmux: str, command: str) -> None:
        self.tmux = tmux
        self.socket = f"aq-top-{uuid.uuid4().hex[:8]}"
        self.session = "top"
        self._run("new-session", "-d", "-s", self.session, "-x", "180", "-y", "60", command)

    def _run(self, *args: str) -> str:
        # the pane's size is tmux's, not what COLUMNS/LINES say (rich would trust them)
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
        done = subprocess.run(
            [self.tmux, "-L", self.socket, *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
            env=env,
        )
        return done.stdout

    def screen(self) -> str:
        return self._run("capture-pane", "-p", "-t", self.session)

    def send(self, keys: str) -> None:
        self._run("send-keys", "-t", self.session, keys)

    def wait_for(self, ready: object, timeout: float) -> str:
        """Capture the pane until ``ready(screen)`` holds; the last screen either way."""
        assert callable(ready)
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if ready(screen):
                return screen
            time.sleep(0.2)
        raise AssertionError(f"the screen never showed it in {timeout:.0f}s:\n{screen}")

    def kill(self) -> None:
        subprocess.run(
            [self.tmux, "-L", self.socket, "kill-server"], capture_output=True, timeout=10
        )


def _busy(screen: str) -> bool:
    depth = _DEPTH.search(screen)
    spend = _SPEND.search(screen)
    return (
        depth is not None
        and int(depth.group(1).replace(",", "")) > 0
        and spend is not None
        and float(spend.group(1).replace(",", "")) > 0
    )


def test_top_shows_depth_and_spend_of_a_running_workload_and_q_quits(
    tmux: str, stack: RunningStack
) -> None:
    top = shlex.join(
        [sys.executable, "-m", "agentqueue.cli", "top", "--redis-url", stack.redis_url]
    )
    pane = Pane(tmux, f"{top}; echo TOP-EXITED-$?; sleep 600")
    try:
        pane.wait_for(lambda s: "agentqueue top" in s and "standard" in s, 60)
        headers = {"Authorization": f"Bearer {stack.api_key}"}
        body = {"messages": [{"role": "user", "content": "Tell me a story"}], "max_tokens": 60}
        for _ in range(TASKS):
            reply = httpx.post(f"{stack.gateway_url}/v1/tasks", json=body, headers=headers)
            assert reply.status_code == 202, reply.text
        screen = pane.wait_for(_busy, SCREEN_TIMEOUT)
        assert "spend today (UTC)" in screen and "local" in screen  # the stack's tenant
        pane.send("q")
        pane.wait_for(lambda s: "TOP-EXITED-0" in s, 30)
    finally:
        pane.kill()

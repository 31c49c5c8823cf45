"""``agentqueue up``: the local stack starts, serves a task end to end, and stops whole."""

import os
import re
import signal
import subprocess
import sys
import time

import httpx
import psutil
import pytest

from agentqueue.core.base.ports import free_port

pytestmark = pytest.mark.slow


def test_up_serves_a_task_and_ctrl_c_stops_every_process(redis_url: str) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentqueue.cli", "up", "--port", str(port), "--threads", "2"],
        env={**os.environ, "AGENTQUEUE_REDIS_URL": redis_url, "AGENTQUEUE_SIM_SPEED": "0"},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        banner = ""
        deadline = time.monotonic() + 60
        while "Ctrl-C" not in banner:
            assert time.monotonic() < deadline and proc.poll() is None, banner
            banner += proc.stderr.readline()
        gateway = re.search(r"gateway\s+(http://\S+)", banner).group(1)
        key = re.search(r"API key\s+(\S+)", banner).group(1)
        assert gateway == f"http://127.0.0.1:{port}"
        children = psutil.Process(proc.pid).children(recursive=True)
        assert len(children) >= 5  # simulator, gateway, three workers (Redis was reused)

        headers = {"Authorization": f"Bearer {key}"}
        body = {"messages": [{"role": "user", "content": "Say hi"}], "priority": "high"}
        task = httpx.post(f"{gateway}/v1/tasks", json=body, headers=headers).json()
        for _ in range(200):
            view = httpx.get(f"{gateway}{task['status_url']}", headers=headers).json()
            if view["status"] == "succeeded":
                break
            time.sleep(0.05)
        assert view["status"] == "succeeded" and view["result"]["text"]

        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=40) == 0
        assert not [c for c in children if c.is_running() and c.status() != "zombie"]
    finally:
        if proc.poll() is None:
            proc.kill()

"""``agentqueue up``: the local stack starts on a Redis of its own, serves a task end to
end, keeps the user's budgets, calls only the providers it should, and stops whole."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
import redis

from agentqueue.cli.processes import ProcessGroup, StackError, wait_until
from agentqueue.cli.stack import StackConfig, merge_budgets, start_stack
from agentqueue.core.base.ports import free_port

pytestmark = pytest.mark.slow

USER_BUDGET = {"anthropic:claude-sonnet-4-6": {"rpm": 7, "tpm": 7777}}


@pytest.fixture
def up(tmp_path: Path) -> Iterator[object]:
    """Start ``agentqueue up`` with extra arguments and environment; read its banner."""
    procs: list[subprocess.Popen[str]] = []

    def start(*argv: str, env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
        port = free_port()
        argv = ("up", "--port", str(port), "--threads", "2", *argv)
        proc = subprocess.Popen(
            [sys.executable, "-m", "agentqueue.cli", *argv],
            env={**os.environ, "AGENTQUEUE_SIM_SPEED": "0", **env},
            stderr=subprocess.PIPE,
            text=True,
        )
        procs.append(proc)
        banner = ""
        deadline = time.monotonic() + 150
        while "Ctrl-C" not in banner:
            assert time.monotonic() < deadline and proc.poll() is None, banner
            assert proc.stderr is not None
            banner += proc.stderr.readline()
        assert re.search(r"gateway\s+(http://\S+)", banner).group(1) == (  # type: ignore[union-attr]
            f"http://127.0.0.1:{port}"
        )
        return proc, banner

    yield start
    for proc in procs:  # a failed test must not leave the stack running
        if proc.poll() is not None:
            continue
        children = psutil.Process(proc.pid).children(recursive=True)
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
        for child in children:
            if child.is_running():
                child.kill()


def _run_a_task(banner: str) -> dict[str, object]:
    gateway = re.search(r"gateway\s+(http://\S+)", banner).group(1)  # type: ignore[union-attr]
    key = re.search(r"API key\s+(\S+)", banner).group(1)  # type: ignore[union-attr]
    headers = {"Authorization": f"Bearer {key}"}
    body = {"messages": [{"role": "user", "content": "Say hi"}], "priority": "high"}
    task = httpx.post(f"{gateway}/v1/tasks", json=body, headers=headers).json()
    for _ in range(400):
        view: dict[str, object] = httpx.get(
            f"{gateway}{task['status_url']}", headers=headers
        ).json()
        if view["status"] == "succeeded":
            return view
        time.sleep(0.05)
    raise AssertionError(f"task not done: {view}")


def test_up_runs_its_own_redis_serves_a_task_and_ctrl_c_stops_every_process(
    up, redis_url: str
) -> None:
    """Even with AGENTQUEUE_REDIS_URL pointing at a live Redis, the stack does not share
    it: two users' stacks on one Redis would run each other's tasks."""
    proc, banner = up(env={"AGENTQUEUE_REDIS_URL": redis_url})
    assert "waiting for the gateway" in banner and "waiting for 3 worker processes" in banner
    assert "AGENTQUEUE_REDIS_URL is ignored" in banner
    own = re.search(r"redis\s+(redis://\S+)\s+\(private", banner).group(1)  # type: ignore[union-attr]
    assert own != redis_url
    assert "anthropic (simulated), openai (simulated), google (simulated)" in banner
    children = psutil.Process(proc.pid).children(recursive=True)
    assert len(children) >= 7  # redis, simulator, limiter, gateway, three workers
    private = redis.Redis.from_url(own)
    try:
        data_dir = Path(private.config_get("dir")["dir"])
    finally:
        private.close()
    assert data_dir.is_dir() and data_dir.name.startswith("agentqueue-redis-")

    view = _run_a_task(banner)
    assert view["result"]["text"]  # type: ignore[index]
    shared = redis.Redis.from_url(redis_url)
    try:
        assert shared.keys("aq:*") == [] and shared.keys("dramatiq:*") == []
    finally:
        shared.close()

    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=40) == 0
    assert not [c for c in children if c.is_running() and c.status() != "zombie"]
    assert not data_dir.exists()  # the private Redis's directory went with it


def test_up_with_redis_url_uses_it_loudly_and_keeps_the_users_budgets(up, redis_url: str) -> None:
    proc, banner = up("--redis-url", redis_url, env={"AGENTQUEUE_BUDGETS": json.dumps(USER_BUDGET)})
    assert f"NOTICE: using the existing Redis at {redis_url}" in banner
    assert "EXISTING, shared" in banner
    _run_a_task(banner)
    client = redis.Redis.from_url(redis_url)
    try:
        assert client.keys("aq:task:*")  # the task lives in the Redis we were given
        user = client.hgetall("aq:rl:budget:anthropic:claude-sonnet-4-6:default")
        simulated = client.hgetall("aq:rl:budget:openai:gpt-4.1:default")
    finally:
        client.close()
    # the user's budget as the user set it (less the margin), the simulator's for the rest
    assert 7000 < float(user[b"cap_t"]) <= 7777
    assert float(simulated[b"cap_t"]) > 100_000
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=40) == 0


def test_with_a_real_key_only_that_provider_is_called_and_no_simulator_runs(
    redis_url: str,
) -> None:
    """With only OPENAI_API_KEY, no simulated Anthropic may answer after OpenAI's 429."""
    stack = start_stack(
        StackConfig(
            redis_url=redis_url,
            gateway_port=free_port(),
            queues=(),
            env={
                "OPENAI_API_KEY": "sk-not-a-real-key",
                "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",  # nothing is ever sent
                "AGENTQUEUE_BUDGETS": json.dumps({"openai:gpt-4.1": {"rpm": 5, "tpm": 500}}),
            },
        )
    )
    try:
        assert stack.simulator_url is None
        assert [(p.name, p.simulated) for p in stack.providers] == [("openai", False)]
        names = {c.name for c in stack.group.children}
        assert "simulator" not in names and "redis" not in names  # --redis-url's Redis
        client = redis.Redis.from_url(redis_url)
        try:  # the user's budget only, written by the gateway at its start
            budgets = sorted(k.decode() for k in client.keys("aq:rl:budget:*"))
        finally:
            client.close()
        assert budgets == ["aq:rl:budget:openai:gpt-4.1:default"]
    finally:
        stack.stop()


def test_an_interactive_gateway_of_its_own_serves_streams_beside_the_task_gateway(
    redis_url: str,
) -> None:
    stack = start_stack(
        StackConfig(
            redis_url=redis_url,
            gateway_port=free_port(),
            interactive_port=free_port(),
            simulator_port=free_port(),
            queues=(),
            simulator_env={"AGENTQUEUE_SIM_SPEED": "0"},
        )
    )
    try:
        assert stack.interactive_url is not None and stack.interactive_url != stack.gateway_url
        names = [c.name for c in stack.group.children]
        assert names.count("gateway") == 1 and names.count("gateway-interactive") == 1
        body = {
            "model": "claude-sonnet-4-6",
            "max_tokens": 20,
            "stream": True,
            "messages": [{"role": "user", "content": "hello"}],
        }
        auth = {"x-api-key": stack.api_key, "anthropic-version": "2023-06-01"}
        with httpx.stream(
            "POST", f"{stack.interactive_url}/v1/messages", json=body, headers=auth, timeout=30
        ) as r:
            assert r.status_code == 200 and "provider;dur=" in r.headers["server-timing"]
            text = "".join(r.iter_text())
        assert "content_block_delta" in text and "Simulated claude-sonnet-4-6" in text
        metrics = httpx.get(stack.metrics_urls["gateway-interactive"], timeout=10).text
        assert 'agentqueue_gateway_streams_total{path="passthrough"} 1.0' in metrics
    finally:
        stack.stop()


def test_simulator_budgets_never_replace_the_users() -> None:
    simulated = {
        "anthropic:claude-sonnet-4-6": {"rpm": 1000, "tpm": 400000},
        "anthropic:claude-haiku-4-5": {"rpm": 1000, "tpm": 400000},
    }
    user = {"anthropic:claude-sonnet-4-6:default": {"rpm": 7, "tpm": 7777}}
    assert merge_budgets(user, simulated) == {
        "anthropic:claude-haiku-4-5": {"rpm": 1000, "tpm": 400000},
        "anthropic:claude-sonnet-4-6:default": {"rpm": 7, "tpm": 7777},
    }
    assert merge_budgets(USER_BUDGET, simulated)["anthropic:claude-sonnet-4-6"]["tpm"] == 7777


def test_a_service_never_ready_fails_naming_it_after_saying_what_it_waits_for() -> None:
    lines: list[str] = []
    with pytest.raises(StackError, match=r"the gateway was not ready .*--ready-timeout"):
        wait_until(
            lambda: "no answer yet",
            "the gateway",
            ProcessGroup(),
            timeout=0.3,
            progress=lines.append,
        )
    assert lines == ["waiting for the gateway…"]

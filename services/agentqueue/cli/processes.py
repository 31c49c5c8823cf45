"""Child processes of the local stack: start, wait until ready, stop in order.

The local stack runs every service as its own process — exactly as in a cluster, one
container each — so that what works here exercises the same process boundaries.
Services are started with ``python -m agentqueue.<service>``; the CLI never imports them.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx
import redis

from agentqueue.core.base.ports import free_port

log = logging.getLogger(__name__)


class StackError(RuntimeError):
    """The local stack could not start; the message says what to do."""


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path | None = None


@dataclass
class ProcessGroup:
    """Processes started together and stopped together, last started first stopped."""

    log_dir: Path | None = None
    children: list[Child] = field(default_factory=list)
    _files: list[IO[bytes]] = field(default_factory=list)

    def start(self, name: str, argv: list[str], env: Mapping[str, str]) -> Child:
        out: IO[bytes] | None = None
        log_path = None
        if self.log_dir is not None:
            log_path = self.log_dir / f"{name}.log"
            out = log_path.open("ab")
            self._files.append(out)
        process = subprocess.Popen(
            argv,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT if out else None,
            start_new_session=True,
        )
        child = Child(name, process, log_path)
        self.children.append(child)
        return child

    def start_service(self, name: str, module: str, env: Mapping[str, str]) -> Child:
        return self.start(name, [sys.executable, "-m", module], env)

    def check_alive(self) -> None:
        for child in self.children:
            code = child.process.poll()
            if code is not None:
                where = f"; see {child.log_path}" if child.log_path else ""
                raise StackError(f"{child.name} exited with code {code}{where}")

    def stop(self, timeout: float = 30.0) -> None:
        for child in reversed(self.children):
            if child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for child in reversed(self.children):
            try:
                child.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in time; killing it", child.name)
                child.process.kill()
                child.process.wait()
        for f in self._files:
            f.close()
        self.children.clear()


def wait_http(url: str, group: ProcessGroup, *, timeout: float = 30.0) -> None:
    """Wait until ``url`` answers 200, failing fast if a child died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        group.check_alive()
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise StackError(f"{url} did not become ready within {timeout:.0f}s")


def wait_workers(url: str, count: int, group: ProcessGroup, *, timeout: float = 60.0) -> None:
    """Wait until ``count`` Dramatiq worker processes heartbeat in Redis (they are fetching)."""
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + timeout
    try:
        while client.zcard("dramatiq:__heartbeats__") < count:
            group.check_alive()
            if time.monotonic() > deadline:
                raise StackError(f"{count} workers did not start within {timeout:.0f}s")
            time.sleep(0.1)
    finally:
        client.close()


def redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except (redis.RedisError, OSError):
        return False


def start_redis(group: ProcessGroup) -> str:
    """Start a private, non-persistent ``redis-server`` on a free port; return its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise StackError(
            "no Redis reachable and no redis-server installed: "
            "run `sudo apt-get install -y redis-server` or set AGENTQUEUE_REDIS_URL"
        )
    port = free_port()
    data_dir = tempfile.mkdtemp(prefix="agentqueue-redis-")
    group.start(
        "redis",
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            data_dir,
        ],
        {},
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while not redis_answers(url):
        group.check_alive()
        if time.monotonic() > deadline:
            raise StackError("redis-server did not answer within 10s")
        time.sleep(0.05)
    return url

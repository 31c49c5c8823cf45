"""Redis servers a test owns: started on a free port, SIGKILLed, restarted on the same
port and directory (with AOF, what it had written survives), and Sentinels.

Never the shared server on 6379: every port here comes from ``free_port()``.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import redis

from agentqueue.core.base.ports import free_port


def _binary() -> str:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    return binary


class RedisProc:
    """One ``redis-server`` (or Sentinel) process on a port of its own."""

    def __init__(self, directory: Path, *args: str, sentinel_conf: str | None = None) -> None:
        self.port = free_port()
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.args = args
        self.sentinel_conf = sentinel_conf
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _command(self) -> list[str]:
        if self.sentinel_conf is not None:
            conf = self.dir / "sentinel.conf"
            if not conf.exists():
                conf.write_text(f"port {self.port}\nbind 127.0.0.1\n{self.sentinel_conf}\n")
            return [_binary(), str(conf), "--sentinel"]
        return [
            _binary(),
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--dir",
            str(self.dir),
            *self.args,
        ]

    def start(self, timeout: float = 10.0) -> None:
        log = (self.dir / "server.log").open("ab")
        self.proc = subprocess.Popen(self._command(), stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while True:
            try:
                client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
                client.ping()
                client.close()
                return
            except redis.RedisError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError(f"redis on {self.port} did not start") from None
                time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no final save — what AOF fsynced is all that is left."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=5)

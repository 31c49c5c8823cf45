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
from collections.abc import Callable, Mapping
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
    #: Directories removed once every process has stopped (a private Redis's data).
    cleanup: list[Path] = field(default_factory=list)
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
        self._files.clear()
        self.children.clear()
        for path in self.cleanup:
            shutil.rmtree(path, ignore_errors=True)
        self.cleanup.clear()

    def log_hint(self, name: str) -> str:
        """Where ``name``'s output goes, as a hint to append to an error message."""
        for child in self.children:
            if child.name == name and child.log_path is not None:
                return f"; see {child.log_path}"
        return ""


#: Seconds between two "still waiting" lines while a service gets ready.
PROGRESS_EVERY = 10.0

Progress = Callable[[str], None]


def wait_until(
    ready: Callable[[], str | None],
    what: str,
    group: ProcessGroup,
    *,
    timeout: float,
    progress: Progress | None = None,
    interval: float = 0.1,
) -> None:
    """Poll ``ready`` until it returns None (ready) or ``timeout`` seconds pass.

    ``ready`` returns None when ready, else a short state ("1/3 heartbeating") shown in
    the progress lines. Says what it waits for at once, then every ``PROGRESS_EVERY``
    seconds with the time spent; fails fast if a child died, and on timeout says what
    was not ready and where its log is.
    """
    started = time.monotonic()
    deadline = started + max(0.0, timeout)
    say = progress or (lambda line: log.info("%s", line))
    say(f"waiting for {what}…")
    next_line = started + PROGRESS_EVERY
    state = ready()
    while state is not None:
        group.check_alive()
        now = time.monotonic()
        if now >= deadline:
            raise StackError(
                f"{what} was not ready after {now - started:.0f}s ({state}); "
                "a slow machine may need a longer --ready-timeout"
            )
        if now >= next_line:
            say(f"still waiting for {what}: {state} ({now - started:.0f}s)")
            next_line = now + PROGRESS_EVERY
        time.sleep(interval)
        state = ready()


def wait_http(
    url: str,
    group: ProcessGroup,
    *,
    timeout: float = 30.0,
    what: str | None = None,
    progress: Progress | None = None,
) -> None:
    """Wait until ``url`` answers 200, failing fast if a child died."""

    def ready() -> str | None:
        try:
            code = httpx.get(url, timeout=1.0).status_code
        except httpx.HTTPError as exc:
            return f"no answer yet: {type(exc).__name__}"
        return None if code == 200 else f"answers {code}"

    wait_until(ready, what or url, group, timeout=timeout, progress=progress)


def wait_workers(
    url: str,
    count: int,
    group: ProcessGroup,
    *,
    timeout: float = 60.0,
    progress: Progress | None = None,
) -> None:
    """Wait until ``count`` Dramatiq worker processes heartbeat in Redis (they are fetching)."""
    client = redis.Redis.from_url(url)

    def ready() -> str | None:
        beating = int(client.zcard("dramatiq:__heartbeats__"))
        return None if beating >= count else f"{beating}/{count} heartbeating"

    try:
        wait_until(ready, f"{count} worker processes", group, timeout=timeout, progress=progress)
    finally:
        client.close()


def redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except (redis.RedisError, OSError):
        return False


def start_redis(group: ProcessGroup, *, data_dir: Path | None = None, timeout: float = 10.0) -> str:
    """Start a private, non-persistent ``redis-server`` on a free port; return its URL.

    Its directory is ``data_dir`` or a fresh temporary one, removed when the group stops.
    """
    binary = shutil.which("redis-server")
    if binary is None:
        raise StackError(
            "no redis-server installed: run `sudo apt-get install -y redis-server`, "
            "or give an existing Redis with --redis-url"
        )
    port = free_port()
    if data_dir is None:
        data_dir = Path(tempfile.mkdtemp(prefix="agentqueue-redis-"))
        group.cleanup.append(data_dir)
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
            str(data_dir),
            "--loglevel",
            "warning",
            # without a log directory the terminal is the services' log: not Redis's too
            *([] if group.log_dir else ["--logfile", str(data_dir / "redis.log")]),
        ],
        {},
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + timeout
    while not redis_answers(url):
        group.check_alive()
        if time.monotonic() > deadline:
            raise StackError(f"redis-server did not answer within {timeout:.0f}s")
        time.sleep(0.05)
    return url

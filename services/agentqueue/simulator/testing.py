"""The simulator as a test double: run it in a thread on a free port.

with running_simulator(SimulatorSettings(speed=0)) as sim:
    client = anthropic.Anthropic(base_url=sim.url, api_key="test")
    ...
    assert sim.stats()["providers"]["anthropic"]["ok"] == 1
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn

from agentqueue.core.base.ports import free_port
from agentqueue.simulator.app import create_app
from agentqueue.simulator.settings import SimulatorSettings


class SimulatorHandle:
    """Where a running simulator listens, and its admin API."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._admin = httpx.Client(base_url=url, timeout=10)

    def stats(self) -> dict[str, Any]:
        data: dict[str, Any] = self._admin.get("/_sim/stats").raise_for_status().json()
        return data

    def reset(self) -> None:
        self._admin.post("/_sim/reset").raise_for_status()

    def config(self) -> dict[str, dict[str, Any]]:
        data: dict[str, dict[str, Any]] = self._admin.get("/_sim/config").raise_for_status().json()
        return data

    def configure(self, changes: dict[str, dict[str, Any]]) -> dict[str, Any]:
        data: dict[str, Any] = (
            self._admin.patch("/_sim/config", json=changes).raise_for_status().json()
        )
        return data

    def close(self) -> None:
        self._admin.close()


@contextmanager
def running_simulator(settings: SimulatorSettings | None = None) -> Iterator[SimulatorHandle]:
    settings = (settings or SimulatorSettings()).model_copy(
        update={"host": "127.0.0.1", "port": free_port()}
    )
    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        lifespan="off",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="simulator", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the simulator did not start")
        time.sleep(0.01)
    handle = SimulatorHandle(f"http://{settings.host}:{settings.port}")
    try:
        yield handle
    finally:
        handle.close()
        server.should_exit = True
        thread.join(10)

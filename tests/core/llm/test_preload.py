"""Encodings load when a service starts, never on a request (``core/llm/tokenizers.py``
``preload``): loading one takes up to 0.75 s, during which the loop that asked serves
nothing. Checked in a fresh interpreter, where nothing was loaded before."""

from __future__ import annotations

import subprocess
import sys

FRESH = """
from agentqueue.core.llm.tokenizers import counter_named, encoding_names
assert counter_named.cache_info().currsize == 0, "loaded before anything asked"
{start}
print(counter_named.cache_info().currsize, len(encoding_names()))
"""


def _loaded_after(start: str) -> tuple[int, int]:
    ran = subprocess.run(
        [sys.executable, "-c", FRESH.format(start=start)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
    out = ran.stdout.split()
    return int(out[0]), int(out[1])


def test_a_simulator_has_every_encoding_before_its_first_call() -> None:
    loaded, known = _loaded_after(
        "from agentqueue.simulator.app import create_app\n"
        "from agentqueue.simulator.settings import SimulatorSettings\n"
        "create_app(SimulatorSettings())"
    )
    assert loaded == known >= 2


def test_a_worker_loads_its_counter_as_it_builds_its_runner() -> None:
    loaded, _ = _loaded_after(
        "from agentqueue.worker.__main__ import build_runner\n"
        "from agentqueue.worker.settings import WorkerSettings\n"
        "build_runner(WorkerSettings())"
    )
    assert loaded == 1


def test_the_gateway_loads_its_counter_before_it_is_ready(redis_url: str) -> None:
    loaded, _ = _loaded_after(
        "from fastapi.testclient import TestClient\n"
        "from pydantic import SecretStr\n"
        "from agentqueue.gateway.app import create_app\n"
        "from agentqueue.gateway.settings import GatewaySettings\n"
        f"settings = GatewaySettings(redis_url=SecretStr({redis_url!r}), "
        "api_keys=SecretStr('t:k-0123456789abcdef'))\n"
        "with TestClient(create_app(settings)) as client:\n"
        "    assert client.get('/readyz').status_code == 200"
    )
    assert loaded == 1

"""Encodings load when a service starts, never on a request (``core/llm/tokenizers.py``
``preload``): loading one takes up to 0.75 s, during which the loop that asked serves
nothing. Checked in a fresh interpreter, where nothing was loaded before."""

from __future__ import annotations

from tests.core.llm.fresh_interpreter import WORKER_START, gateway_start, run_fresh

FRESH = """
from agentqueue.core.llm.tokenizers import counter_named, encoding_names
assert counter_named.cache_info().currsize == 0, "loaded before anything asked"
{start}
print(counter_named.cache_info().currsize, len(encoding_names()))
"""


def _loaded_after(start: str) -> tuple[int, int]:
    out = run_fresh(FRESH.format(start=start))
    return int(out[0]), int(out[1])


def test_a_simulator_has_every_encoding_before_its_first_call() -> None:
    loaded, known = _loaded_after(
        "from agentqueue.simulator.app import create_app\n"
        "from agentqueue.simulator.settings import SimulatorSettings\n"
        "create_app(SimulatorSettings())"
    )
    assert loaded == known >= 2


def test_a_worker_loads_its_counter_as_it_builds_its_runner() -> None:
    loaded, _ = _loaded_after(WORKER_START)
    assert loaded == 1


def test_the_gateway_loads_its_counter_before_it_is_ready(redis_url: str) -> None:
    loaded, _ = _loaded_after(gateway_start(redis_url))
    assert loaded == 1

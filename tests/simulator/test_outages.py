import pytest

from agentqueue.simulator.outages import OutageWindow, in_outage, parse_outages
from agentqueue.simulator.settings import SimulatorSettings
from agentqueue.simulator.testing import running_simulator


def test_parse_and_match_windows() -> None:
    windows = parse_outages("anthropic:10-20, all:40-45")
    assert windows == [OutageWindow("anthropic", 10, 20), OutageWindow("all", 40, 45)]
    assert in_outage(windows, "anthropic", 10) and not in_outage(windows, "anthropic", 20)
    assert not in_outage(windows, "openai", 15) and in_outage(windows, "openai", 44.9)


@pytest.mark.parametrize("spec", ["anthropic", "anthropic:5", "mistral:1-2", "openai:5-1"])
def test_bad_windows_are_refused_naming_the_part(spec: str) -> None:
    with pytest.raises(ValueError, match="outage"):
        parse_outages(spec)


def test_scheduled_outage_refuses_calls_inside_its_window() -> None:
    import httpx

    body = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
    with running_simulator(SimulatorSettings(speed=0, outages="anthropic:0-60")) as sim:
        r = httpx.post(f"{sim.url}/v1/messages", json=body, headers={"x-api-key": "k"})
        assert r.status_code == 529 and r.json()["error"]["type"] == "overloaded_error"
        r = httpx.post(
            f"{sim.url}/v1/chat/completions", json=body, headers={"Authorization": "Bearer k"}
        )
        assert r.status_code == 200

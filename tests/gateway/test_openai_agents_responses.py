"""A real agent framework on its default path: ``openai-agents`` with
``OpenAIResponsesModel`` runs its tool loop through the gateway's Responses API — the model
calls the tool, the framework runs it and sends the whole conversation back (no
``previous_response_id``: the gateway keeps no state), and the final answer carries the
tool's result."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from tests.gateway.conftest import KEY_T1
from tests.gateway.weather_agent import FORECAST, weather_agent

agents = pytest.importorskip("agents")


@pytest.fixture(autouse=True)
def _no_tracing() -> None:
    agents.set_tracing_disabled(True)  # never export traces to OpenAI's servers


def _agent(gateway_url: str, model: str, calls: list[dict[str, Any]]) -> tuple[Any, Any]:
    return weather_agent(agents, agents.OpenAIResponsesModel, gateway_url, model, calls)


@pytest.mark.parametrize("model", ["gpt-4.1", "claude-sonnet-4-6"])
async def test_an_agent_calls_its_tool_and_answers_with_the_result(
    gateway_url: str, model: str
) -> None:
    calls: list[dict[str, Any]] = []
    agent, client = _agent(gateway_url, model, calls)
    try:
        result = await agents.Runner.run(agent, "What is the weather in Lisbon?", max_turns=4)
    finally:
        await client.close()
    assert len(calls) == 1 and isinstance(calls[0]["city"], str)
    assert FORECAST in str(result.final_output)
    tool_outputs = [i for i in result.new_items if isinstance(i, agents.ToolCallOutputItem)]
    assert [i.output for i in tool_outputs] == [FORECAST]
    assert all(r.response_id and r.response_id.startswith("resp_") for r in result.raw_responses)


@pytest.mark.parametrize("model", ["gpt-4.1", "claude-sonnet-4-6"])
async def test_an_agent_streams_its_tool_loop(gateway_url: str, model: str) -> None:
    calls: list[dict[str, Any]] = []
    agent, client = _agent(gateway_url, model, calls)
    try:
        run = agents.Runner.run_streamed(agent, "What is the weather in Lisbon?", max_turns=4)
        events = [event async for event in run.stream_events()]
    finally:
        await client.close()
    assert len(calls) == 1
    assert FORECAST in str(run.final_output)
    assert any(getattr(e, "name", None) == "tool_output" for e in events)
    deltas = [
        e.data.delta
        for e in events
        if e.type == "raw_response_event" and e.data.type == "response.output_text.delta"
    ]
    assert FORECAST in "".join(deltas)  # the final answer arrived as text deltas


async def test_an_agent_with_a_structured_output_type(gateway_url: str) -> None:
    from pydantic import BaseModel

    class Forecast(BaseModel):
        city: str
        degrees: int

    client = openai.AsyncOpenAI(base_url=f"{gateway_url}/v1", api_key=KEY_T1, max_retries=0)
    agent = agents.Agent(
        name="structured",
        instructions="Give a forecast.",
        output_type=Forecast,
        model=agents.OpenAIResponsesModel(model="claude-sonnet-4-6", openai_client=client),
    )
    try:
        result = await agents.Runner.run(agent, "Forecast for Lisbon", max_turns=2)
    finally:
        await client.close()
    assert isinstance(result.final_output, Forecast)

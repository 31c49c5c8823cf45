"""A real agent framework (pydantic-ai, on the ``anthropic`` SDK) runs its tool loop
through ``/v1/messages``: the model calls the tool, the result goes back, the final
answer says it — answered by Claude, and by OpenAI behind the same protocol."""

import anthropic
import pytest
from pydantic_ai import Agent
from pydantic_ai.models.anthropic import AnthropicModel
from pydantic_ai.providers.anthropic import AnthropicProvider

from tests.gateway.conftest import KEY_T1

FORECAST = "rain-7319 all afternoon"


def _agent(
    gateway_url: str, model: str
) -> tuple[Agent[None, str], list[str], anthropic.AsyncAnthropic]:
    client = anthropic.AsyncAnthropic(base_url=gateway_url, api_key=KEY_T1, max_retries=0)
    agent: Agent[None, str] = Agent(
        AnthropicModel(model, provider=AnthropicProvider(anthropic_client=client)),
        instructions="Answer weather questions with the forecast tool.",
    )
    calls: list[str] = []

    @agent.tool_plain
    def forecast(city: str) -> str:
        """The weather forecast for a city."""
        calls.append(city)
        return FORECAST

    return agent, calls, client


@pytest.mark.parametrize("model", ["claude-sonnet-4-6", "gpt-4.1"])
async def test_a_pydantic_ai_agent_calls_its_tool_and_answers_with_the_result(
    gateway_url, model
) -> None:
    agent, calls, client = _agent(gateway_url, model)
    try:
        result = await agent.run("Will it rain in Oslo today?")
    finally:
        await client.close()
    assert len(calls) == 1 and isinstance(calls[0], str) and calls[0]
    returned = [
        part
        for message in result.all_messages()
        for part in message.parts
        if part.part_kind == "tool-return"
    ]
    assert [p.content for p in returned] == [FORECAST]
    assert FORECAST in result.output


async def test_a_streamed_pydantic_ai_run_reconstructs_the_tool_call(gateway_url) -> None:
    agent, calls, client = _agent(gateway_url, "claude-sonnet-4-6")
    try:
        async with agent.run_stream("Will it rain in Bergen today?") as run:
            output = await run.get_output()
    finally:
        await client.close()
    assert len(calls) == 1
    assert FORECAST in output

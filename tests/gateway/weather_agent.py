"""The ``openai-agents`` agent both framework tests run: one weather tool that records
its calls, on the gateway through Chat Completions or the Responses API."""

from __future__ import annotations

from typing import Any

import openai

from tests.gateway.conftest import KEY_T1

FORECAST = "Lisbon: sunny, 23 degrees"


def weather_agent(
    agents: Any, model_class: Any, gateway_url: str, model: str, calls: list[dict[str, Any]]
) -> tuple[Any, openai.AsyncOpenAI]:
    """An agent on ``model`` whose ``model_class`` (``agents.OpenAIChatCompletionsModel``
    or ``agents.OpenAIResponsesModel``) talks to the gateway; and its client, to close."""

    @agents.function_tool
    def get_weather(city: str, unit: str = "celsius") -> str:
        """The weather forecast for a city."""
        calls.append({"city": city, "unit": unit})
        return FORECAST

    client = openai.AsyncOpenAI(base_url=f"{gateway_url}/v1", api_key=KEY_T1, max_retries=0)
    agent = agents.Agent(
        name="forecaster",
        instructions="Answer weather questions with the get_weather tool.",
        tools=[get_weather],
        model=model_class(model=model, openai_client=client),
    )
    return agent, client

"""Fallback across protocols keeps a tool call whole: with Anthropic down, a request with
tools goes to OpenAI through its own SDK and still comes back as a valid tool call."""

from __future__ import annotations

import jsonschema

from agentqueue.core.calls.fallback import FallbackChain
from agentqueue.core.llm.messages import (
    ChatMessage,
    Completion,
    CompletionRequest,
    ToolResult,
    ToolSpec,
)

SEARCH = ToolSpec(
    name="search_flights",
    description="Flights between two airports on a day.",
    input_schema={
        "type": "object",
        "properties": {
            "origin": {"type": "string", "minLength": 3, "maxLength": 3},
            "destination": {"type": "string", "minLength": 3, "maxLength": 3},
            "date": {"type": "string", "format": "date"},
            "passengers": {"type": "integer", "minimum": 1, "maximum": 9},
        },
        "required": ["origin", "destination", "date", "passengers"],
        "additionalProperties": False,
    },
)
ASK = ChatMessage(role="user", content="Find me a flight from OSL to CDG tomorrow.")
REQUEST = CompletionRequest(messages=[ASK], tools=[SEARCH], max_tokens=200)


async def test_tools_fall_back_from_anthropic_to_openai(chain: FallbackChain, simulator) -> None:
    simulator.configure({"anthropic": {"error_rate": 1.0}})
    result = await chain.complete(REQUEST)
    assert [(a.provider, a.ok) for a in result.attempts] == [("anthropic", False), ("openai", True)]
    assert result.attempts[0].error_type == "ProviderServerError"
    completion = result.completion
    assert completion.provider == "openai" and len(completion.tool_calls) == 1
    call = completion.tool_calls[0]
    assert call.name == "search_flights" and call.id
    jsonschema.validate(
        call.arguments, SEARCH.input_schema, format_checker=jsonschema.FormatChecker()
    )

    # the loop goes on on OpenAI with the call Anthropic never saw
    follow_up = REQUEST.model_copy(
        update={
            "messages": [
                ASK,
                ChatMessage(role="assistant", tool_calls=[call]),
                ChatMessage(
                    role="user",
                    tool_results=[ToolResult(tool_call_id=call.id, content="SK 831 at 07:05")],
                ),
            ]
        }
    )
    answer = (await chain.complete(follow_up)).completion
    assert answer.provider == "openai" and "SK 831 at 07:05" in answer.text


async def test_a_streamed_tool_call_falls_back_too(chain: FallbackChain, simulator) -> None:
    simulator.configure({"anthropic": {"error_rate": 1.0}})
    events = [e async for e in chain.stream(REQUEST)]
    final = events[-1]
    assert isinstance(final, Completion) and final.provider == "openai"
    assert [c.name for c in final.tool_calls] == ["search_flights"]
    jsonschema.validate(final.tool_calls[0].arguments, SEARCH.input_schema)

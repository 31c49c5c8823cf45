"""Tool and structured-output requests share a semantic scope only when their schemas
are identical: the guard compares prompts, the scope keeps everything else apart."""

from __future__ import annotations

from typing import Any

from agentqueue.core.cache.keys import semantic_prompt, semantic_scope
from agentqueue.core.llm.messages import (
    ChatMessage,
    CompletionRequest,
    ResponseFormat,
    ToolChoice,
    ToolResult,
    ToolSpec,
)


def _ask(
    text: str = "Extract the person from: Ada Lovelace, 36", **fields: Any
) -> CompletionRequest:
    return CompletionRequest(
        messages=[ChatMessage(role="user", content=text)], temperature=0, **fields
    )


def _schema(*required: str) -> ResponseFormat:
    return ResponseFormat(
        type="json_schema",
        json_schema={
            "type": "object",
            "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
            "required": list(required),
        },
    )


def _scope(request: CompletionRequest) -> str:
    return semantic_scope(request, "acme", "openai", "gpt-4.1")


def test_one_more_required_field_is_another_scope() -> None:
    assert _scope(_ask(response_format=_schema("name"))) != _scope(
        _ask(response_format=_schema("name", "age"))
    )
    assert _scope(_ask(response_format=_schema("name", "age"))) != _scope(
        _ask(response_format=_schema("age", "name"))
    )  # order too: a schema is compared as written, not interpreted


def test_the_same_schema_is_the_same_scope_whatever_the_prompt() -> None:
    one = _ask("Extract the person from: Ada Lovelace, 36", response_format=_schema("name"))
    other = _ask(
        "Please extract the person from: Ada Lovelace, 36", response_format=_schema("name")
    )
    assert _scope(one) == _scope(other)


def test_structured_output_and_plain_text_never_share_a_scope() -> None:
    plain = _ask()
    assert _scope(plain) != _scope(_ask(response_format=ResponseFormat(type="json_object")))
    assert _scope(plain) != _scope(_ask(response_format=_schema("name")))


def test_tools_and_their_schemas_are_in_the_scope() -> None:
    def tool(*required: str) -> ToolSpec:
        return ToolSpec(
            name="lookup",
            input_schema={"type": "object", "required": list(required)},
        )

    with_one = _ask(tools=[tool("city")])
    assert _scope(with_one) != _scope(_ask())
    assert _scope(with_one) != _scope(_ask(tools=[tool("city", "date")]))
    assert _scope(with_one) != _scope(
        _ask(tools=[tool("city")], tool_choice=ToolChoice(mode="required"))
    )
    assert _scope(with_one) == _scope(_ask(tools=[tool("city")]))


def test_a_tool_result_is_never_matched_semantically() -> None:
    turn = ChatMessage(role="user", tool_results=[ToolResult(tool_call_id="c1", content="4")])
    request = CompletionRequest(messages=[turn], temperature=0)
    assert semantic_prompt(request) is None

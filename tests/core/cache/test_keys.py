"""Cache keys: everything that changes an answer changes the key; nothing else does."""

from __future__ import annotations

import pytest

from agentqueue.core.cache.keys import NOT_IN_KEY, exact_key, flight_key, semantic_scope
from agentqueue.core.llm.messages import (
    CacheControl,
    ChatMessage,
    CompletionRequest,
    ImagePart,
    ResponseFormat,
    Tier,
    ToolCall,
    ToolChoice,
    ToolResult,
    ToolSpec,
)

BASE = CompletionRequest(
    messages=[
        ChatMessage(role="user", content="Earlier turn"),
        ChatMessage(role="assistant", content="Reply"),
        ChatMessage(role="user", content="What is 2 + 2?"),
    ],
    system="Be terse.",
    max_tokens=100,
    temperature=0,
    tools=[ToolSpec(name="calc", description="adds")],
)

#: One change per request field. A field added to CompletionRequest without an entry
#: here fails test_every_field_is_covered: decide whether it changes the answer.
CHANGES: dict[str, object] = {
    "messages": [ChatMessage(role="user", content="What is 2 + 3?")],
    "system": "Be verbose.",
    "tier": Tier.EFFICIENT,
    "model": "gpt-4.1",
    "max_tokens": 101,
    "temperature": 0.5,
    "top_p": 0.9,
    "top_k": 40,
    "thinking_budget": 2048,
    "tools": [ToolSpec(name="calc", description="multiplies")],
    "cache": CacheControl(no_store=True, ttl=5),
    "tool_choice": ToolChoice(mode="required"),
    "parallel_tool_calls": False,
    "stop": ["\n\n"],
    "seed": 7,
    "response_format": ResponseFormat(type="json_object"),
}


def test_tool_results_and_images_are_in_the_key() -> None:
    """An agent's next turn differs from its last only by what its tool returned."""

    def turn(**parts: object) -> CompletionRequest:
        call = ToolCall(id="c1", name="calc", arguments={"a": 2})
        return BASE.model_copy(
            update={
                "messages": [
                    ChatMessage(role="user", content="add"),
                    ChatMessage(role="assistant", tool_calls=[call]),
                    ChatMessage(role="user", **parts),  # type: ignore[arg-type]
                ]
            }
        )

    four = turn(tool_results=[ToolResult(tool_call_id="c1", content="4")])
    five = turn(tool_results=[ToolResult(tool_call_id="c1", content="5")])
    image = turn(content="x", images=[ImagePart(url="https://example.org/a.png")])
    other = turn(content="x", images=[ImagePart(url="https://example.org/b.png")])
    assert exact_key(four, "acme", "a", "m") != exact_key(five, "acme", "a", "m")
    assert exact_key(image, "acme", "a", "m") != exact_key(other, "acme", "a", "m")


def test_every_field_is_covered() -> None:
    assert set(CHANGES) == set(CompletionRequest.model_fields)


@pytest.mark.parametrize("field", sorted(set(CHANGES) - NOT_IN_KEY))
def test_each_answer_changing_field_changes_the_key(field: str) -> None:
    changed = BASE.model_copy(update={field: CHANGES[field]})
    assert exact_key(changed, "acme", "anthropic", "m") != exact_key(BASE, "acme", "anthropic", "m")
    assert flight_key(changed, "acme") != flight_key(BASE, "acme")


def test_cache_controls_do_not_change_the_key() -> None:
    changed = BASE.model_copy(update={"cache": CHANGES["cache"]})
    assert exact_key(changed, "acme", "anthropic", "m") == exact_key(BASE, "acme", "anthropic", "m")


def test_the_resolved_model_and_provider_are_in_the_key() -> None:
    keys = {exact_key(BASE, "acme", p, m) for p in ("anthropic", "openai") for m in ("a", "b")}
    assert len(keys) == 4


@pytest.mark.parametrize("other", ["globex", "", None, "acme ", "Acme"])
def test_the_tenant_is_in_the_key(other: str | None) -> None:
    assert exact_key(BASE, "acme", "p", "m") != exact_key(BASE, other, "p", "m")


def test_no_tenant_is_not_the_empty_tenant() -> None:
    assert exact_key(BASE, None, "p", "m") != exact_key(BASE, "", "p", "m")


def test_the_key_is_stable_and_equal_for_equal_requests() -> None:
    copy = CompletionRequest.model_validate_json(BASE.model_dump_json())
    assert exact_key(copy, "acme", "p", "m") == exact_key(BASE, "acme", "p", "m")


def test_the_semantic_scope_ignores_only_the_last_user_message() -> None:
    paraphrase = BASE.model_copy(
        update={"messages": [*BASE.messages[:-1], ChatMessage(role="user", content="2+2=?")]}
    )
    assert semantic_scope(paraphrase, "acme", "p", "m") == semantic_scope(BASE, "acme", "p", "m")
    for field in sorted(set(CHANGES) - NOT_IN_KEY - {"messages"}):
        changed = BASE.model_copy(update={field: CHANGES[field]})
        assert semantic_scope(changed, "acme", "p", "m") != semantic_scope(BASE, "acme", "p", "m")
    other_history = BASE.model_copy(
        update={"messages": [ChatMessage(role="user", content="x"), *BASE.messages[1:]]}
    )
    assert semantic_scope(other_history, "acme", "p", "m") != semantic_scope(BASE, "acme", "p", "m")
    assert semantic_scope(BASE, "globex", "p", "m") != semantic_scope(BASE, "acme", "p", "m")
    assert semantic_scope(BASE, "acme", "p", "m2") != semantic_scope(BASE, "acme", "p", "m")

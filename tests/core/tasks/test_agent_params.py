"""Each agent kind's parameter model: what the gateway refuses at submission is exactly
what the worker's agent could not run, since both parse ``params`` with it."""

from __future__ import annotations

from typing import Any

import pytest

from agentqueue.core.base.errors import AgentQueueError
from agentqueue.core.llm.routing import TierChoice
from agentqueue.core.tasks.agent_params import (
    AGENT_PARAMS,
    DEFAULT_SESSION_TTL,
    ExtractParams,
    InvalidParams,
    MapReduceParams,
    SessionStepParams,
    check_params,
)

SCHEMA = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}


def test_extract_reads_its_schema_under_the_schema_key() -> None:
    params = ExtractParams.parse("extract", {"schema": SCHEMA})
    assert params.json_schema == SCHEMA


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({}, "params.schema: Field required"),
        ({"schema": "an object please"}, "params.schema: Input should be a valid dictionary"),
        ({"schema": {"type": "nope"}}, "params.schema: not a valid JSON schema"),
    ],
)
def test_extract_refuses_what_is_not_a_json_schema(params: dict[str, Any], says: str) -> None:
    with pytest.raises(InvalidParams) as raised:
        check_params("extract", params)
    assert str(raised.value).startswith("extract: ") and says in str(raised.value)


def test_map_reduce_defaults_and_overrides() -> None:
    default = MapReduceParams.parse("map_reduce", {})
    assert default.questions is None and default.max_questions == 5
    assert default.map_tier is None and default.max_parallel is None
    given = MapReduceParams.parse(
        "map_reduce",
        {"questions": ["a?", "b?"], "map_tier": "efficient", "max_parallel": 2, "extra": 1},
    )
    assert given.questions == ["a?", "b?"] and given.map_tier is TierChoice.EFFICIENT
    assert given.max_parallel == 2


@pytest.mark.parametrize(
    "params",
    [
        {"questions": []},
        {"questions": [""]},
        {"questions": ["ok", "   "]},
        {"questions": "one question"},
        {"questions": [f"q{i}" for i in range(65)]},
        {"questions": [1, 2]},
        {"map_tier": "genius"},
        {"max_questions": 0},
        {"max_parallel": 0},
    ],
)
def test_map_reduce_refuses_what_it_could_not_run(params: dict[str, Any]) -> None:
    with pytest.raises(InvalidParams, match=r"^map_reduce: params\."):
        check_params("map_reduce", params)


def test_session_step_needs_its_session() -> None:
    params = SessionStepParams.parse("session_step", {"session_id": "sess_1"})
    assert params.session_ttl == DEFAULT_SESSION_TTL
    assert SessionStepParams(session_id="s", session_ttl=60).model_dump() == {
        "session_id": "s",
        "session_ttl": 60,
    }
    with pytest.raises(InvalidParams, match="session_id"):
        check_params("session_step", {})


def test_kinds_without_a_model_take_their_params_as_they_are() -> None:
    assert "completion" not in AGENT_PARAMS
    assert check_params("completion", {"anything": [1, 2]}) is None
    assert check_params("shout", {"volume": "loud"}) is None  # a user's entry-point agent


def test_invalid_params_is_a_non_retryable_value_error() -> None:
    with pytest.raises(InvalidParams) as raised:
        check_params("extract", {})
    assert isinstance(raised.value, ValueError) and isinstance(raised.value, AgentQueueError)
    assert not raised.value.retryable and raised.value.kind == "extract"

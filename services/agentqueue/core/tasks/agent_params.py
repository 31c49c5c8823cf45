"""Each built-in agent kind's parameters (``TaskSpec.params``), as one pydantic model.

The gateway validates a submission's ``params`` with these models, so a task an agent
would fail on (a schema that is not a JSON schema, an empty sub-question) is refused
with 422 before it is queued; the worker's agents parse the same ``params`` with the
same models to read them. One definition, two callers: the check at submission and the
agent's own reading of its parameters cannot drift apart.

Kinds without a model here — ``completion``, and the agents users register through the
``agentqueue.agents`` entry points — take ``params`` as they are, unchecked: their
parameters are their own. Unknown keys are ignored, as they always were.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Self

from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from jsonschema.exceptions import SchemaError  # type: ignore[import-untyped]
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from agentqueue.core.base.errors import AgentQueueError
from agentqueue.core.llm.routing import TierChoice

#: Most sub-questions a map_reduce task may be given or may plan.
MAX_QUESTIONS = 64
#: How long a session lives after its last write unless the gateway says otherwise (s).
DEFAULT_SESSION_TTL = 7 * 24 * 3600


class InvalidParams(AgentQueueError, ValueError):
    """A task's ``params`` do not fit its agent kind's model (not retryable: the same
    parameters fail the same way). A ``ValueError`` too, so that a pydantic validator
    raising it (the gateway's request body) reports it as a validation error."""

    def __init__(self, kind: str, error: ValidationError) -> None:
        problems = "; ".join(
            f"params.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
            if e["loc"]
            else f"params: {e['msg']}"
            for e in error.errors()
        )
        super().__init__(f"{kind}: {problems}")
        self.kind = kind


class AgentParams(BaseModel):
    """Base of the parameter models: read-only, unknown keys ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    @classmethod
    def parse(cls, kind: str, params: Mapping[str, Any]) -> Self:
        """``params`` as this model, or :class:`InvalidParams` naming each bad field."""
        try:
            return cls.model_validate(params)
        except ValidationError as exc:
            raise InvalidParams(kind, exc) from exc


class ExtractParams(AgentParams):
    """``extract``: the JSON schema the answer must validate against."""

    json_schema: dict[str, Any] = Field(alias="schema", description="A JSON schema object.")

    @field_validator("json_schema")
    @classmethod
    def _usable(cls, schema: dict[str, Any]) -> dict[str, Any]:
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as exc:
            raise PydanticCustomError(
                "json_schema", "not a valid JSON schema: {reason}", {"reason": exc.message}
            ) from exc
        return schema


def _not_blank(question: str) -> str:
    if not question.strip():
        raise PydanticCustomError("blank", "a sub-question must not be blank")
    return question


Question = Annotated[str, AfterValidator(_not_blank)]
Questions = Annotated[list[Question], Field(min_length=1, max_length=MAX_QUESTIONS)]


class MapReduceParams(AgentParams):
    """``map_reduce``: sub-questions answered in parallel, then one synthesis."""

    #: The sub-questions; without them a ``plan`` step asks the model for some.
    questions: Questions | None = None
    #: Most sub-questions the ``plan`` step may produce.
    max_questions: int = Field(default=5, ge=1, le=MAX_QUESTIONS)
    #: Tiers of the map and reduce calls (default: the task's).
    map_tier: TierChoice | None = None
    reduce_tier: TierChoice | None = None
    #: Output tokens of each map call (default: the task's ``max_tokens``).
    map_max_tokens: int | None = Field(default=None, ge=1, le=200_000)
    #: Map calls running at once (default: the worker's ``AGENTQUEUE_AGENT_MAX_PARALLEL``).
    max_parallel: int | None = Field(default=None, ge=1)


class SessionStepParams(AgentParams):
    """``session_step``: set by the gateway's sessions API, never by a client."""

    session_id: str = Field(min_length=1)
    #: Seconds the session's keys live after its last write (the gateway's task TTL).
    session_ttl: int = Field(default=DEFAULT_SESSION_TTL, ge=1)


#: The parameter model of each built-in kind that has parameters.
AGENT_PARAMS: dict[str, type[AgentParams]] = {
    "extract": ExtractParams,
    "map_reduce": MapReduceParams,
    "session_step": SessionStepParams,
}


def check_params(kind: str, params: Mapping[str, Any]) -> AgentParams | None:
    """``params`` parsed by ``kind``'s model (None for a kind without one, whose
    parameters are its own), or :class:`InvalidParams`."""
    model = AGENT_PARAMS.get(kind)
    return model.parse(kind, params) if model is not None else None


__all__ = [
    "AGENT_PARAMS",
    "AgentParams",
    "ExtractParams",
    "InvalidParams",
    "MapReduceParams",
    "SessionStepParams",
    "check_params",
]

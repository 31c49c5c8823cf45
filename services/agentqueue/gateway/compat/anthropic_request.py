"""The body of ``POST /v1/messages`` (and of ``count_tokens``), as the core's request.

What agent frameworks send is served: custom ``tools`` and ``tool_choice`` (``auto``,
``any``, ``tool``, ``none``, ``disable_parallel_tool_use``), content blocks
(``anthropic_blocks``), ``system`` as a string or text blocks, ``stop_sequences`` (the
answer says which one ended it: ``stop_reason: "stop_sequence"``, ``stop_sequence`` the
sequence, when the provider says which — Claude does; OpenAI and Gemini only say that
the answer stopped, so through them it is ``end_turn``), ``temperature``, ``top_p``,
``top_k``, ``thinking``, ``metadata``, ``stream``. Anything else is refused with 400
naming the field, rather than silently changing the answer:

- ``top_p``: sent to whichever provider answers. ``top_k``: sent to Claude and Gemini;
  OpenAI's models have none, so naming a ``gpt-*`` model with ``top_k`` is 400 (with a
  tier, an OpenAI fallback answers without it).
- ``thinking`` ``{"type": "enabled", "budget_tokens": N}``: the budget goes to the
  model, which must be able to think (catalog capability ``thinking``): a named model
  that cannot (``gpt-4.1``) is 400 naming ``body.thinking``, and with a tier only
  thinking models are tried. As on Anthropic's API, ``budget_tokens`` must be below
  ``max_tokens``, and thinking excludes ``temperature`` other than 1, ``top_k``,
  ``top_p`` below 0.95 and a tool choice that forces a tool (400 naming the field).
  The answer carries no thinking blocks (the core keeps no thinking), and in the middle
  of a tool loop (the last turn carries tool results) the call is made without thinking,
  since the API would want the previous turn's signed thinking back. ``disabled`` is no
  thinking; ``adaptive`` is accepted and not sent on (the core has no notion of it).
- server tools (``web_search``, ``code_execution``, ``bash``, …) and ``strict`` tools:
  refused (400) naming them; agentqueue calls no tool itself and cannot guarantee a
  strict schema on every provider.
- ``cache_control`` (top-level and on blocks and tools): accepted and ignored, prompt
  caching is decided by agentqueue's adapters. ``metadata.user_id`` is accepted (it is
  not sent on).
- ``stop_sequences``: at most 4 (the core's limit, OpenAI's).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from agentqueue.core.llm.catalog import Catalog, UnknownModel
from agentqueue.core.llm.messages import CompletionRequest, Tier
from agentqueue.gateway.api.errors import InvalidField
from agentqueue.gateway.compat.anthropic_blocks import (
    AnthropicMessage,
    CacheControl,
    SystemContent,
    system_text,
    turn_fields,
)
from agentqueue.gateway.compat.calls import TIER_ALIASES, build_request, resolve_model

TOOL_NAME = r"^[a-zA-Z0-9_-]{1,64}$"
StopSequence = Annotated[str, Field(min_length=1, max_length=1000)]


class Tool(BaseModel):
    """A custom tool: the model may call it; the caller runs it."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["custom"] | None = None
    name: str = Field(pattern=TOOL_NAME)
    description: str = Field(default="", max_length=100_000)
    input_schema: dict[str, Any]
    cache_control: CacheControl | None = None
    #: Only ``false``: a strict schema cannot be guaranteed on every provider.
    strict: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_server_tools(cls, value: Any) -> Any:
        if isinstance(value, dict) and value.get("type") not in (None, "custom"):
            raise PydanticCustomError(
                "unsupported_tool",
                "server tool '{name}' (type '{kind}') is not supported: agentqueue serves "
                "custom tools (name, description, input_schema), which the caller runs",
                {"name": value.get("name"), "kind": value.get("type")},
            )
        return value

    @field_validator("input_schema")
    @classmethod
    def _object_schema(cls, schema: dict[str, Any]) -> dict[str, Any]:
        if schema.get("type") != "object":
            raise PydanticCustomError("input_schema", "input_schema.type must be 'object'")
        return schema

    @field_validator("strict")
    @classmethod
    def _not_strict(cls, strict: bool | None) -> bool | None:
        if strict:
            raise PydanticCustomError(
                "unsupported", "strict tools are not supported (not every provider enforces them)"
            )
        return strict


class ToolChoiceParam(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["auto", "any", "tool", "none"]
    name: str | None = Field(default=None, pattern=TOOL_NAME)
    disable_parallel_tool_use: bool | None = None

    @model_validator(mode="after")
    def _name_with_tool(self) -> ToolChoiceParam:
        if (self.type == "tool") != (self.name is not None):
            raise PydanticCustomError(
                "tool_choice", "a tool_choice names a tool exactly when its type is 'tool'"
            )
        return self


class ThinkingConfig(BaseModel):
    """Extended thinking: ``enabled`` sends its budget on (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["enabled", "disabled", "adaptive"]
    budget_tokens: int | None = Field(default=None, ge=1024)
    display: Literal["summarized", "omitted"] | None = None

    @model_validator(mode="after")
    def _budget_when_enabled(self) -> ThinkingConfig:
        if (self.type == "enabled") != (self.budget_tokens is not None):
            raise PydanticCustomError(
                "thinking", "thinking has budget_tokens exactly when its type is 'enabled'"
            )
        return self


class Metadata(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: str | None = Field(default=None, max_length=256)


_CORE_CHOICE = {"auto": "auto", "any": "required", "tool": "tool", "none": "none"}


class PromptBody(BaseModel):
    """What a prompt is made of: the body of ``count_tokens``, and the base of a call's."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1, max_length=200)
    messages: list[AnthropicMessage] = Field(min_length=1, max_length=10_000)
    system: SystemContent | None = None
    tools: list[Tool] | None = Field(default=None, max_length=128)
    tool_choice: ToolChoiceParam | None = None
    #: Sent on with ``enabled`` (see the module docstring).
    thinking: ThinkingConfig | None = None
    #: Accepted and ignored: prompt caching is decided by agentqueue.
    cache_control: CacheControl | None = None

    def _model(self, catalog: Catalog) -> tuple[Tier, str | None]:
        """Tier and model; an unknown model is 404 ``not_found_error``, as Anthropic says."""
        if self.model not in TIER_ALIASES:
            try:
                catalog.get(self.model)
            except UnknownModel:
                known = sorted([*TIER_ALIASES, *(m.model for m in catalog.models)])
                raise InvalidField(
                    "body.model", f"unknown model {self.model!r}; known: {', '.join(known)}", 404
                ) from None
        return resolve_model(catalog, self.model)

    def _turns(self) -> list[tuple[int, dict[str, Any]]]:
        """Each message as (its index, the core turn's fields). Empty content is 400 as
        Anthropic answers, except an empty final assistant turn (a prefill of nothing)."""
        if self.messages[0].role != "user":
            raise InvalidField("body.messages.0.role", "the first message must be 'user'")
        tool_names: dict[str, str] = {}
        turns = []
        last = len(self.messages) - 1
        for i, message in enumerate(self.messages):
            if message.content in ("", []):
                if i == last and i > 0 and message.role == "assistant":
                    continue
                raise InvalidField(
                    f"body.messages.{i}.content",
                    "all messages must have non-empty content except for the optional "
                    "final assistant message",
                )
            fields = turn_fields(i, message, tool_names)
            if fields is not None:
                turns.append((i, fields))
        return turns

    def _tools(self) -> dict[str, Any]:
        tools = self.tools or []
        seen: set[str] = set()
        for j, tool in enumerate(tools):
            if tool.name in seen:
                raise InvalidField(
                    f"body.tools.{j}.name", f"tool names must be unique: {tool.name!r}"
                )
            seen.add(tool.name)
        fields: dict[str, Any] = {
            "tools": [
                {"name": t.name, "description": t.description, "input_schema": t.input_schema}
                for t in tools
            ]
        }
        choice = self.tool_choice
        if choice is None:
            return fields
        if choice.type in ("any", "tool") and not tools:
            raise InvalidField(
                "body.tool_choice", f"tool_choice {choice.type!r} needs tools in body.tools"
            )
        if choice.name is not None and choice.name not in seen:
            raise InvalidField(
                "body.tool_choice.name", f"no tool named {choice.name!r} in body.tools"
            )
        if tools:
            fields["tool_choice"] = {"mode": _CORE_CHOICE[choice.type], "name": choice.name}
            if choice.disable_parallel_tool_use:
                fields["parallel_tool_calls"] = False
        return fields

    def prompt(self, catalog: Catalog, **fields: Any) -> CompletionRequest:
        """The core request, with ``fields`` (max_tokens, temperature, stop) added."""
        tier, model = self._model(catalog)
        return build_request(
            turns=self._turns(),
            system=system_text(self.system),
            tier=tier,
            model=model,
            **self._tools(),
            **fields,
        )


class MessagesBody(PromptBody):
    """The Messages API call agentqueue serves; anything else is refused by name."""

    max_tokens: int = Field(ge=1, le=200_000)
    temperature: float | None = Field(default=None, ge=0.0, le=1.0)
    top_p: float | None = Field(default=None, ge=0.0, le=1.0)
    #: Claude and Gemini only (see the module docstring).
    top_k: int | None = Field(default=None, ge=1, le=1_000_000)
    stop_sequences: list[StopSequence] | None = Field(default=None, max_length=4)
    stream: StrictBool = False
    metadata: Metadata | None = None

    def _thinking_budget(self, catalog: Catalog) -> int | None:
        """The thinking budget to send, or a 400 naming what thinking excludes."""
        thinking = self.thinking
        if thinking is None or thinking.type != "enabled":
            return None
        assert thinking.budget_tokens is not None
        if thinking.budget_tokens >= self.max_tokens:
            raise InvalidField(
                "body.thinking.budget_tokens",
                f"`max_tokens` must be greater than `thinking.budget_tokens` "
                f"({thinking.budget_tokens})",
            )
        if self.model not in TIER_ALIASES:
            info = catalog.get(self.model)
            if not info.supports({"thinking"}):
                raise InvalidField(
                    "body.thinking",
                    f"model {self.model!r} does not support extended thinking; use a model "
                    "that does (claude-*, gemini-*) or a tier, or leave thinking out",
                )
        if self.temperature is not None and self.temperature != 1.0:
            raise InvalidField(
                "body.temperature", "temperature may only be set to 1 when thinking is enabled"
            )
        if self.top_k is not None:
            raise InvalidField("body.top_k", "top_k cannot be set when thinking is enabled")
        if self.top_p is not None and self.top_p < 0.95:
            raise InvalidField(
                "body.top_p", "top_p must be between 0.95 and 1 when thinking is enabled"
            )
        if self.tool_choice is not None and self.tool_choice.type in ("any", "tool"):
            raise InvalidField(
                "body.tool_choice", "thinking may not be enabled when tool_choice forces tool use"
            )
        return thinking.budget_tokens

    def _top_k(self, catalog: Catalog) -> int | None:
        named = self.model not in TIER_ALIASES
        if self.top_k is not None and named and catalog.get(self.model).provider == "openai":
            raise InvalidField(
                "body.top_k",
                f"model {self.model!r} has no top_k (OpenAI's models do not take it); "
                "use top_p or temperature",
            )
        return self.top_k

    def to_request(self, catalog: Catalog) -> CompletionRequest:
        self._model(catalog)  # an unknown model is 404 before any other refusal
        thinking_budget = self._thinking_budget(catalog)  # Anthropic's own rules first
        return self.prompt(
            catalog,
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            top_p=self.top_p,
            top_k=self._top_k(catalog),
            thinking_budget=thinking_budget,
            stop=self.stop_sequences or [],
        )

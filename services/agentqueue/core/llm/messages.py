"""Provider-neutral request and response types for one LLM call.

Every adapter in ``core.llm.providers`` turns a :class:`CompletionRequest` into its SDK's
call and its SDK's answer into a :class:`Completion`; nothing above the adapters sees a
provider's own types. The models are pydantic so that they validate at the API edge and
serialise into task records unchanged.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agentqueue.core.llm.rate_headers import RateLimitSnapshot


class Tier(StrEnum):
    """How capable a model a call needs; fallback never leaves the tier."""

    FRONTIER = "frontier"
    EFFICIENT = "efficient"


def _empty(value: Any) -> bool:
    """Left out of stored JSON: an empty list or None (records are kept for days)."""
    return not value


class ToolCall(BaseModel):
    """A call the model asks the caller to make to one of the request's tools."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=256)
    name: str = Field(min_length=1, max_length=128)
    arguments: dict[str, Any] = Field(default_factory=dict)


class ToolResult(BaseModel):
    """What the caller's tool returned for one of the model's tool calls (a user turn
    carries them, as Anthropic's API does; OpenAI's ``tool`` messages and Gemini's
    function responses map onto it)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tool_call_id: str = Field(min_length=1, max_length=256)
    content: str = Field(default="", max_length=2_000_000)
    is_error: bool = Field(default=False, exclude_if=_empty)
    #: The tool's name, where the caller's protocol says it (Gemini needs it; adapters
    #: find it by ``tool_call_id`` in the conversation's earlier tool calls otherwise).
    name: str | None = Field(default=None, max_length=128)


class ImagePart(BaseModel):
    """An image in a user turn: inline (base64 ``data`` with its ``media_type``) or by
    ``url`` (https, or a ``data:`` URL)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    media_type: str | None = Field(
        default=None, pattern=r"^image/(png|jpeg|gif|webp)$", max_length=32
    )
    data: str | None = Field(default=None, max_length=30_000_000)
    url: str | None = Field(default=None, max_length=30_000_000)

    @model_validator(mode="after")
    def _one_source(self) -> ImagePart:
        if (self.data is None) == (self.url is None):
            raise ValueError("an image has either data (base64) or a url, not both")
        if self.data is not None and self.media_type is None:
            raise ValueError("an inline image needs its media_type (image/png, …)")
        return self


class ChatMessage(BaseModel):
    """One turn of a conversation; the system prompt travels separately.

    ``content`` is the turn's text. An assistant turn may carry the ``tool_calls`` it
    made (its text may then be empty); a user turn may carry ``tool_results`` (answers
    to the previous turn's calls) and ``images``. A turn holds at least one of them.
    Within a turn the text comes first, then images, tool calls or results: the order of
    interleaved parts inside one turn is not kept.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Literal["user", "assistant"]
    content: str = Field(default="", max_length=2_000_000)
    tool_calls: list[ToolCall] = Field(default_factory=list, max_length=128, exclude_if=_empty)
    tool_results: list[ToolResult] = Field(default_factory=list, max_length=128, exclude_if=_empty)
    images: list[ImagePart] = Field(default_factory=list, max_length=100, exclude_if=_empty)

    def all_text(self) -> str:
        """The turn's text with its tool calls and results, as a token estimate reads
        them (images are counted apart)."""
        parts = [self.content]
        parts += [f"{c.name} {json.dumps(c.arguments)}" for c in self.tool_calls]
        parts += [r.content for r in self.tool_results]
        return "\n".join(p for p in parts if p)

    @model_validator(mode="after")
    def _parts_fit_the_role(self) -> ChatMessage:
        if self.role == "assistant" and (self.tool_results or self.images):
            raise ValueError("tool results and images belong to user turns")
        if self.role == "user" and self.tool_calls:
            raise ValueError("tool calls belong to assistant turns")
        if not (self.content or self.tool_calls or self.tool_results or self.images):
            raise ValueError("a message needs content (text), tool calls, tool results or images")
        return self


class ToolSpec(BaseModel):
    """A tool the model may call: its name, what it does, and its JSON-schema input."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-zA-Z0-9_-]{1,64}$")
    description: str = Field(default="", max_length=100_000)
    input_schema: dict[str, Any] = Field(default_factory=lambda: {"type": "object"})


class ToolChoice(BaseModel):
    """Whether the model must, may or must not call a tool, or which one."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["auto", "none", "required", "tool"] = "auto"
    #: The tool to call (``mode="tool"`` only).
    name: str | None = Field(default=None, pattern=r"^[a-zA-Z0-9_-]{1,64}$")

    @model_validator(mode="after")
    def _name_with_tool(self) -> ToolChoice:
        if (self.mode == "tool") != (self.name is not None):
            raise ValueError("a tool choice names a tool exactly when its mode is 'tool'")
        return self


class ResponseFormat(BaseModel):
    """The shape the answer's text must have: any text, a JSON object, or JSON that
    validates against ``json_schema`` (OpenAI's ``response_format``; Gemini's response
    schema; for Claude, a tool the model is made to call, whose input is the answer)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["text", "json_object", "json_schema"]
    name: str = Field(default="response", pattern=r"^[a-zA-Z0-9_-]{1,64}$")
    json_schema: dict[str, Any] | None = None
    strict: bool = False

    @model_validator(mode="after")
    def _schema_with_json_schema(self) -> ResponseFormat:
        if (self.type == "json_schema") != (self.json_schema is not None):
            raise ValueError("a json_schema response format carries its schema, and only it")
        return self


class CacheControl(BaseModel):
    """Per-request cache controls. Never part of the cache key: they change whether and
    how long an answer is cached, not what the answer is."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Do not read the cache: always ask a provider (the answer may still be stored).
    no_cache: bool = False
    #: Do not store this answer.
    no_store: bool = False
    #: Seconds to keep this answer, overriding the tenant's and the default TTL.
    ttl: int | None = Field(default=None, ge=0, le=30 * 24 * 3600)
    #: Use the semantic cache for this request (None: the tenant's or the default).
    semantic: bool | None = None
    #: Cache this request although its temperature is not 0 (its answer is a sample).
    allow_nondeterministic: bool = False


class CompletionRequest(BaseModel):
    """What a caller asks of a model, before a provider or model is chosen."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    messages: list[ChatMessage] = Field(min_length=1, max_length=10_000)
    system: str | None = Field(default=None, max_length=2_000_000)
    tier: Tier = Tier.FRONTIER
    #: A catalog model to try first (its provider first; fallback stays in its tier).
    model: str | None = Field(default=None, max_length=200)
    max_tokens: int = Field(default=1024, ge=1, le=200_000)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    #: Nucleus sampling, passed to every provider (None: the provider's default).
    top_p: float | None = Field(default=None, ge=0.0, le=1.0)
    #: Sample from the ``top_k`` likeliest tokens: Anthropic and Gemini take it; OpenAI's
    #: models have no such parameter and answer without it (None: the provider's default).
    top_k: int | None = Field(default=None, ge=1, le=1_000_000)
    #: Tokens the model may spend thinking before it answers (Anthropic's extended
    #: thinking, Gemini's thinking budget); only models whose catalog entry lists
    #: "thinking" are tried. The thinking itself is not returned.
    thinking_budget: int | None = Field(default=None, ge=1024, le=200_000)
    #: Tools the model may call; only providers whose adapter supports tools are tried.
    tools: list[ToolSpec] = Field(default_factory=list, max_length=128, exclude_if=_empty)
    tool_choice: ToolChoice | None = None
    #: False: at most one tool call per answer (None: the provider's default).
    parallel_tool_calls: bool | None = None
    #: Sequences that end the answer where they would appear (OpenAI allows 4).
    stop: list[str] = Field(default_factory=list, max_length=4, exclude_if=_empty)
    #: Best-effort determinism, where the provider offers it (OpenAI; others ignore it).
    seed: int | None = None
    response_format: ResponseFormat | None = None
    #: Cache controls for this request (never part of the cache key).
    cache: CacheControl | None = None

    @model_validator(mode="after")
    def _thinking_within_max_tokens(self) -> CompletionRequest:
        if self.thinking_budget is not None and self.thinking_budget >= self.max_tokens:
            raise ValueError("thinking_budget must be below max_tokens (thinking counts in it)")
        return self


class Usage(BaseModel):
    """Tokens of one call, normalised across providers.

    ``input_tokens`` excludes cache reads and writes (Anthropic's convention); adapters
    for providers that include them (OpenAI, Gemini) subtract before filling this in.
    """

    model_config = ConfigDict(extra="forbid")

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return (
            self.input_tokens
            + self.output_tokens
            + self.cache_read_tokens
            + self.cache_write_tokens
        )

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cache_read_tokens=self.cache_read_tokens + other.cache_read_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
        )


class Completion(BaseModel):
    """A model's whole answer to one call."""

    model_config = ConfigDict(extra="forbid")

    text: str
    provider: str
    model: str
    usage: Usage
    stop_reason: str | None = None
    #: The stop sequence that ended the answer, when the provider says which (Anthropic
    #: and the simulator do; OpenAI and Gemini only say that one did).
    stop_sequence: str | None = None
    #: Tool calls the model made (requests with ``tools`` only).
    tool_calls: list[ToolCall] = Field(default_factory=list)
    #: The provider's rate-limit headers on this answer, for the limiter; never stored.
    rate_limit: RateLimitSnapshot | None = Field(default=None, exclude=True, repr=False)


class TextDelta(BaseModel):
    """A piece of streamed text."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str


#: What a streaming call yields: text pieces, then exactly one final Completion.
StreamEvent = TextDelta | Completion

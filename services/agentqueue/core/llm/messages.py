"""Provider-neutral request and response types for one LLM call.

Every adapter in ``core.llm.providers`` turns a :class:`CompletionRequest` into its SDK's
call and its SDK's answer into a :class:`Completion`; nothing above the adapters sees a
provider's own types. The models are pydantic so that they validate at the API edge and
serialise into task records unchanged.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agentqueue.core.llm.rate_headers import RateLimitSnapshot


class Tier(StrEnum):
    """How capable a model a call needs; fallback never leaves the tier."""

    FRONTIER = "frontier"
    EFFICIENT = "efficient"


class ChatMessage(BaseModel):
    """One turn of a conversation; the system prompt travels separately."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Literal["user", "assistant"]
    content: str = Field(min_length=1, max_length=2_000_000)


class ToolSpec(BaseModel):
    """A tool the model may call: its name, what it does, and its JSON-schema input."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-zA-Z0-9_-]{1,64}$")
    description: str = Field(default="", max_length=100_000)
    input_schema: dict[str, Any] = Field(default_factory=lambda: {"type": "object"})


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
    #: Tools the model may call; only providers whose adapter supports tools are tried.
    tools: list[ToolSpec] = Field(default_factory=list, max_length=128)
    #: Cache controls for this request (never part of the cache key).
    cache: CacheControl | None = None


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


class ToolCall(BaseModel):
    """A call the model asks the caller to make to one of the request's tools."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class Completion(BaseModel):
    """A model's whole answer to one call."""

    model_config = ConfigDict(extra="forbid")

    text: str
    provider: str
    model: str
    usage: Usage
    stop_reason: str | None = None
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

"""Provider-neutral request and response types for one LLM call.

Every adapter in ``core.providers`` turns a :class:`CompletionRequest` into its SDK's
call and its SDK's answer into a :class:`Completion`; nothing above the adapters sees a
provider's own types. The models are pydantic so that they validate at the API edge and
serialise into task records unchanged.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from agentqueue.core.providers.rate_headers import RateLimitSnapshot


class Tier(StrEnum):
    """How capable a model a call needs; fallback never leaves the tier."""

    FRONTIER = "frontier"
    EFFICIENT = "efficient"


class ChatMessage(BaseModel):
    """One turn of a conversation; the system prompt travels separately."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Literal["user", "assistant"]
    content: str = Field(min_length=1, max_length=2_000_000)


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
    #: The provider's rate-limit headers on this answer, for the limiter; never stored.
    rate_limit: RateLimitSnapshot | None = Field(default=None, exclude=True, repr=False)


class TextDelta(BaseModel):
    """A piece of streamed text."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str


#: What a streaming call yields: text pieces, then exactly one final Completion.
StreamEvent = TextDelta | Completion

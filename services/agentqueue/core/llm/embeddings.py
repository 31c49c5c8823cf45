"""Provider-neutral vocabulary of an embedding call: what is asked, what comes back.

Embeddings are not completions: no messages, no output tokens, no fallback (the vectors
of two models live in different spaces, so another provider's answer would be wrong,
not merely different). They get their own small request and answer types so that the
adapters, the cache and the gateway share one shape, as :mod:`.messages` does for chat.
"""

from __future__ import annotations

from typing import Annotated, Protocol

from pydantic import BaseModel, ConfigDict, Field

from agentqueue.core.llm.messages import Usage
from agentqueue.core.llm.rate_headers import RateLimitSnapshot
from agentqueue.core.llm.tokens import estimate_text

#: Inputs one call may embed (OpenAI's own limit per request).
MAX_INPUTS = 2048
#: Characters one input may hold: about 4 a token, over the largest model's window.
MAX_INPUT_CHARS = 40_000

EmbeddingInput = Annotated[str, Field(min_length=1, max_length=MAX_INPUT_CHARS)]


class EmbeddingRequest(BaseModel):
    """Embed each of ``inputs`` with ``model`` (a catalog embedding model)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(min_length=1, max_length=200)
    inputs: list[EmbeddingInput] = Field(min_length=1, max_length=MAX_INPUTS)
    #: Shorter vectors than the model's default, where the model can give them.
    dimensions: int | None = Field(default=None, ge=1, le=65_536)

    def estimated_tokens(self) -> int:
        """The inputs' tokens by the local estimate: what the limiter reserves."""
        return sum(estimate_text(text) for text in self.inputs)


class Embeddings(BaseModel):
    """One vector per input, in the inputs' order, and what the provider counted."""

    model_config = ConfigDict(extra="forbid")

    vectors: list[list[float]]
    provider: str
    model: str
    input_tokens: int = Field(default=0, ge=0)
    #: The provider's rate-limit headers, for the limiter to learn from (not stored).
    rate_limit: RateLimitSnapshot | None = Field(default=None, exclude=True)

    @property
    def usage(self) -> Usage:
        """As a completion's usage: input tokens only."""
        return Usage(input_tokens=self.input_tokens)


class Embedder(Protocol):
    """An adapter that can embed (``supports_embeddings = True`` says so)."""

    name: str
    supports_embeddings: bool

    async def embed(self, request: EmbeddingRequest, model: str) -> Embeddings:
        """Embed ``request.inputs`` with ``model``; errors raised as ours."""
        ...

"""The one interface every LLM provider adapter implements.

An adapter wraps one official SDK client (with the SDK's own retries disabled, so that
our limiter, retries and fallback are the only ones in control), translates our
:class:`~agentqueue.core.llm.messages.CompletionRequest` into the SDK call, and translates
every SDK error into :mod:`agentqueue.core.base.errors` at exactly one place: its
``_translate`` function.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass

from agentqueue.core.llm.messages import Completion, CompletionRequest, StreamEvent


@dataclass(frozen=True)
class ProviderConfig:
    """How to reach one provider: where, with which key, how patiently."""

    name: str
    api_key: str
    base_url: str | None = None
    #: Seconds for a whole non-streaming call, or between stream chunks.
    timeout: float = 120.0
    #: True when this points at the agentqueue simulator rather than the real provider.
    simulated: bool = False

    def __repr__(self) -> str:  # never print the key
        return (
            f"ProviderConfig(name={self.name!r}, base_url={self.base_url!r}, "
            f"simulated={self.simulated})"
        )


class Provider(ABC):
    """One LLM provider behind its official SDK."""

    name: str

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config

    @abstractmethod
    async def complete(self, request: CompletionRequest, model: str) -> Completion:
        """Run the call to completion and return the whole answer."""

    @abstractmethod
    def stream(self, request: CompletionRequest, model: str) -> AsyncIterator[StreamEvent]:
        """Yield :class:`TextDelta` pieces, then one final :class:`Completion`.

        Errors before the first piece and mid-stream are raised as our error types.
        """

    async def aclose(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Release the SDK client's connections."""

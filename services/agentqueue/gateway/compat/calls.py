"""What both compatible APIs share: model names, the streamed call, the finish reason.

A stream is started before the HTTP response is: the first event (the first piece of
text, or the whole answer) is awaited in the route, so a limiter refusal, a quota or a
provider that fails before its first token becomes a proper HTTP error — and the chain's
fallback to the next provider happens there, invisibly. After the first byte a failure
can only end the stream with the protocol's own error event.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fastapi import HTTPException
from pydantic import ValidationError

from agentqueue.core.apikeys import ApiKeyRecord
from agentqueue.core.base.priority import Priority
from agentqueue.core.calls.pipeline import CallPipeline, Completer
from agentqueue.core.llm.call_result import Attempt, CallResult
from agentqueue.core.llm.catalog import Catalog, UnknownModel
from agentqueue.core.llm.messages import ChatMessage, CompletionRequest, StreamEvent, Tier
from agentqueue.core.llm.providers.base import Passthrough
from agentqueue.core.ratelimit.lanes import interactive
from agentqueue.gateway.api.errors import InvalidField
from agentqueue.gateway.api.governance import check_model_allowed

#: Model names that ask for a tier rather than a model.
TIER_ALIASES = {
    "frontier": Tier.FRONTIER,
    "efficient": Tier.EFFICIENT,
    "agentqueue/frontier": Tier.FRONTIER,
    "agentqueue/efficient": Tier.EFFICIENT,
}


def resolve_model(catalog: Catalog, name: str) -> tuple[Tier, str | None]:
    """``name`` as (tier, model to try first); 422 naming ``body.model`` if unknown."""
    if name in TIER_ALIASES:
        return TIER_ALIASES[name], None
    try:
        info = catalog.get(name)
    except UnknownModel:
        known = sorted([*TIER_ALIASES, *(m.model for m in catalog.models)])
        raise HTTPException(
            422, f"body.model: unknown model {name!r}; known: {', '.join(known)}"
        ) from None
    return Tier(info.tier), info.model


#: The 200 of a compatible route: JSON, or SSE when the body asks for a stream.
STREAM_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The answer: JSON, or Server-Sent Events with `stream: true`.",
        "content": {"application/json": {}, "text/event-stream": {}},
    }
}


def build_request(
    *, turns: Sequence[tuple[int, dict[str, Any]]], **fields: Any
) -> CompletionRequest:
    """The core request from what a protocol's body said: ``turns`` as (index in
    ``body.messages``, the :class:`ChatMessage`'s fields: role, content, tool calls,
    tool results, images). A value the core refuses (a message over its length, say) is
    400 naming the field, never a 500."""
    messages = []
    for i, turn in turns:
        try:
            messages.append(ChatMessage(**turn))
        except ValidationError as exc:
            raise InvalidField.of(exc, prefix=f"body.messages.{i}") from None
    try:
        return CompletionRequest(messages=messages, **fields)
    except ValidationError as exc:
        raise InvalidField.of(exc) from None


def finish_reason(stop_reason: str | None) -> str:
    """Providers' stop reasons in OpenAI's words."""
    if stop_reason in ("max_tokens", "length", "MAX_TOKENS"):
        return "length"
    return "stop"


def anthropic_stop_reason(stop_reason: str | None) -> str:
    return "max_tokens" if finish_reason(stop_reason) == "length" else "end_turn"


async def whole_answer(
    pipeline: Completer,
    request: CompletionRequest,
    tenant: str,
    priority: Priority,
    *,
    key: ApiKeyRecord | None = None,
) -> tuple[CallResult, dict[str, str]]:
    """A non-streamed call: through the cache (exact, semantic when enabled) and the chain;
    with the headers that say who answered, what it cost and whether it was a cache hit.
    ``key``: the caller's API key — a model outside its allowlist is 403, and its own
    quotas are charged with the tenant's."""
    if key is not None:
        check_model_allowed(key, request.model)
    with interactive():  # a person is waiting: the lane above high tasks
        result = await pipeline.complete(
            request, priority, tenant, key_id=key.key_id if key is not None else None
        )
    headers = {
        "x-agentqueue-provider": result.completion.provider,
        "x-agentqueue-cost-usd": f"{result.cost_usd:.8f}",
    }
    if result.cached:
        headers["x-agentqueue-cache"] = result.cached
    return result, headers


@dataclass
class StartedStream:
    """A stream whose first event has arrived; iterate it for the rest.

    Passed through (:attr:`passed_through`: the first event is the provider's bytes), it
    is read by :func:`~agentqueue.gateway.compat.passthrough.relay`; otherwise with
    :meth:`events`."""

    first: StreamEvent | bytes
    rest: AsyncIterator[StreamEvent | bytes]
    attempts: list[Attempt] = field(default_factory=list)
    costs: list[Decimal] = field(default_factory=list)

    @property
    def passed_through(self) -> bool:
        return isinstance(self.first, bytes)

    @property
    def path(self) -> str:
        """How the answer reaches the caller: ``passthrough``, ``cache`` or ``translated``
        (the ``x-agentqueue-stream`` header). A cache hit has its cost (0) at once."""
        if self.passed_through:
            return "passthrough"
        return "cache" if self.costs and not self.attempts else "translated"

    async def events(self) -> AsyncIterator[StreamEvent]:
        """The answer's events (a stream that is not passed through)."""
        for event in (self.first,):
            assert not isinstance(event, bytes)
            yield event
        async for event in self.rest:
            assert not isinstance(event, bytes)
            yield event

    async def aclose(self) -> None:
        await self.rest.aclose()  # type: ignore[attr-defined]


async def start_stream(
    pipeline: CallPipeline,
    request: CompletionRequest,
    tenant: str,
    priority: Priority,
    passthrough: Passthrough | None = None,
    *,
    key: ApiKeyRecord | None = None,
) -> StartedStream:
    """Run the call up to its first event; errors before it raise as they are.

    Through the cache: a hit streams the stored answer at once. ``priority`` is the
    caller's highest allowed: interactive calls are ``high`` unless the caller's key is
    limited to lower priorities. With ``passthrough``, a provider speaking the caller's
    protocol streams its own bytes (:meth:`CallPipeline.stream_passthrough`).
    """
    attempts: list[Attempt] = []
    costs: list[Decimal] = []
    if key is not None:
        check_model_allowed(key, request.model)
    key_id = key.key_id if key is not None else None
    events: AsyncIterator[StreamEvent | bytes] = (
        pipeline.stream(
            request, attempts, priority=priority, tenant=tenant, costs=costs, key_id=key_id
        )
        if passthrough is None
        else pipeline.stream_passthrough(
            request,
            passthrough,
            attempts,
            priority=priority,
            tenant=tenant,
            costs=costs,
            key_id=key_id,
        )
    )
    with interactive():  # every budget is taken before the first event
        first = await events.__anext__()
    return StartedStream(first, events, attempts, costs)

"""``POST /v1/messages``, as Anthropic's Messages API speaks it.

Point the official ``anthropic`` SDK at the gateway's root with an agentqueue key: plain
and streamed calls (``messages.create(stream=True)`` and ``messages.stream``) work
unchanged. ``model`` is any catalog model or ``frontier`` / ``efficient``; text content
only — tool use, images and stop sequences are refused with 422 naming the field.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from agentqueue.core.base.errors import ProviderError
from agentqueue.core.calls.fallback import FallbackChain
from agentqueue.core.llm.catalog import Catalog
from agentqueue.core.llm.messages import CompletionRequest, TextDelta, Usage
from agentqueue.gateway.api.deps import CallerDep
from agentqueue.gateway.api.errors import InvalidField, error_responses
from agentqueue.gateway.compat.calls import (
    STREAM_RESPONSES,
    anthropic_stop_reason,
    build_request,
    resolve_model,
    start_stream,
    whole_answer,
)

router = APIRouter(tags=["anthropic-compatible"])


class TextBlock(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["text"]
    text: str
    #: Accepted for compatibility; prompt caching is decided by agentqueue.
    cache_control: dict[str, Any] | None = None


def _text(content: str | list[TextBlock]) -> str:
    return content if isinstance(content, str) else "".join(b.text for b in content)


def _nonempty_blocks(where: str, content: str | list[TextBlock] | None) -> None:
    if isinstance(content, list):
        for j, block in enumerate(content):
            if not block.text:
                raise InvalidField(f"{where}.{j}.text", "text content blocks must be non-empty")


class AnthropicMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["user", "assistant"]
    content: str | list[TextBlock]


class MessagesBody(BaseModel):
    """The subset of the Messages API we serve; anything else is refused by name."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1, max_length=200)
    max_tokens: int = Field(ge=1, le=200_000)
    messages: list[AnthropicMessage] = Field(min_length=1, max_length=10_000)
    system: str | list[TextBlock] | None = None
    temperature: float | None = Field(default=None, ge=0.0, le=1.0)
    stream: StrictBool = False
    metadata: dict[str, Any] | None = None

    def to_request(self, catalog: Catalog) -> CompletionRequest:
        """The core request. Empty content is 400 naming it, as Anthropic answers — except
        an empty final assistant turn, which Anthropic accepts (a prefill of nothing)."""
        tier, model = resolve_model(catalog, self.model)
        if self.messages[0].role != "user":
            raise HTTPException(422, "body.messages.0.role: the first message must be 'user'")
        _nonempty_blocks("body.system", self.system)
        messages = list(self.messages)
        last = messages[-1]
        if len(messages) > 1 and last.role == "assistant" and last.content in ("", []):
            messages.pop()
        for i, m in enumerate(messages):
            _nonempty_blocks(f"body.messages.{i}.content", m.content)
            if not _text(m.content):
                raise InvalidField(
                    f"body.messages.{i}.content",
                    "all messages must have non-empty content except for the optional "
                    "final assistant message",
                )
        return build_request(
            turns=[
                (i, {"role": m.role, "content": _text(m.content)}) for i, m in enumerate(messages)
            ],
            system=_text(self.system) if self.system else None,
            tier=tier,
            model=model,
            max_tokens=self.max_tokens,
            temperature=self.temperature,
        )


def _usage(u: Usage) -> dict[str, int]:
    return {
        "input_tokens": u.input_tokens,
        "output_tokens": u.output_tokens,
        "cache_creation_input_tokens": u.cache_write_tokens,
        "cache_read_input_tokens": u.cache_read_tokens,
    }


def _event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


@router.post(
    "/v1/messages",
    response_model=None,
    responses={**STREAM_RESPONSES, **error_responses(400, 403, 413, 429, 502)},
)
async def messages(body: MessagesBody, request: Request, caller: CallerDep) -> Response:
    """An Anthropic-compatible message, streamed (SSE events) or whole."""
    chain: FallbackChain = request.app.state.chain
    call = body.to_request(chain.catalog)
    message_id = f"msg_{uuid.uuid4().hex[:24]}"
    if not body.stream:
        result, headers = await whole_answer(
            request.app.state.pipeline, call, caller.tenant, caller.highest_allowed()
        )
        completion = result.completion
        payload = {
            "id": message_id,
            "type": "message",
            "role": "assistant",
            "model": completion.model,
            "content": [{"type": "text", "text": completion.text}],
            "stop_reason": anthropic_stop_reason(completion.stop_reason),
            "stop_sequence": None,
            "usage": _usage(completion.usage),
        }
        return JSONResponse(payload, headers=headers)
    started = await start_stream(
        request.app.state.pipeline, call, caller.tenant, caller.highest_allowed()
    )

    async def sse() -> AsyncIterator[bytes]:
        yield _event(
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": message_id,
                    "type": "message",
                    "role": "assistant",
                    "model": call.model or call.tier.value,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {"input_tokens": 0, "output_tokens": 0},
                },
            },
        )
        yield _event(
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        )
        try:
            async for event in started.events():
                if isinstance(event, TextDelta):
                    yield _event(
                        "content_block_delta",
                        {
                            "type": "content_block_delta",
                            "index": 0,
                            "delta": {"type": "text_delta", "text": event.text},
                        },
                    )
                else:
                    yield _event("content_block_stop", {"type": "content_block_stop", "index": 0})
                    yield _event(
                        "message_delta",
                        {
                            "type": "message_delta",
                            "delta": {
                                "stop_reason": anthropic_stop_reason(event.stop_reason),
                                "stop_sequence": None,
                            },
                            "usage": _usage(event.usage),
                        },
                    )
                    yield _event("message_stop", {"type": "message_stop"})
        except ProviderError as exc:  # after the first byte: end with an error event
            yield _event(
                "error", {"type": "error", "error": {"type": "api_error", "message": str(exc)}}
            )
        finally:
            await started.aclose()

    return StreamingResponse(
        sse(), media_type="text/event-stream", headers={"cache-control": "no-cache"}
    )

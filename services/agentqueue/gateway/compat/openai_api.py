"""``POST /v1/chat/completions``, as OpenAI's Chat Completions API speaks it.

Point the official ``openai`` SDK at ``<gateway>/v1`` with an agentqueue key: plain and
streamed calls (``stream_options={"include_usage": True}`` for usage in the last chunk)
work unchanged. ``model`` is any catalog model (tried first, falling back within its
tier) or ``frontier`` / ``efficient``. Parameters we do not implement (tools, n > 1,
top_p, stop, …) are refused with 422 naming the field rather than silently ignored.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

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
    build_request,
    finish_reason,
    resolve_model,
    start_stream,
    whole_answer,
)

router = APIRouter(tags=["openai-compatible"])


class TextPart(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["text"]
    text: str


class OpenAIMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[TextPart]
    name: str | None = None

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "".join(p.text for p in self.content)


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    include_usage: StrictBool = False


class ChatCompletionBody(BaseModel):
    """The subset of Chat Completions we serve; anything else is refused by name."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1, max_length=200)
    messages: list[OpenAIMessage] = Field(min_length=1, max_length=10_000)
    max_completion_tokens: int | None = Field(default=None, ge=1, le=200_000)
    max_tokens: int | None = Field(default=None, ge=1, le=200_000)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    stream: StrictBool = False
    stream_options: StreamOptions | None = None
    n: Annotated[int, Field(ge=1, le=1)] = 1
    user: str | None = Field(default=None, max_length=256)

    def to_request(self, catalog: Catalog) -> CompletionRequest:
        """The core request; an empty message is 400 naming it, as OpenAI answers."""
        tier, model = resolve_model(catalog, self.model)
        for i, m in enumerate(self.messages):
            where = f"body.messages.{i}.content"
            if isinstance(m.content, list) and not m.content:
                raise InvalidField(where, "empty array; expected at least one content part")
            if m.role in ("user", "assistant") and not m.text():
                raise InvalidField(where, f"a {m.role} message's content must not be empty")
        system = "\n".join(m.text() for m in self.messages if m.role in ("system", "developer"))
        turns = [
            (i, {"role": m.role, "content": m.text()})
            for i, m in enumerate(self.messages)
            if m.role in ("user", "assistant")
        ]
        if not turns:
            raise HTTPException(422, "body.messages: at least one user message is needed")
        return build_request(
            turns=turns,
            system=system or None,
            tier=tier,
            model=model,
            max_tokens=self.max_completion_tokens or self.max_tokens or 1024,
            temperature=self.temperature,
        )


def _usage(u: Usage) -> dict[str, Any]:
    prompt = u.input_tokens + u.cache_read_tokens + u.cache_write_tokens
    return {
        "prompt_tokens": prompt,
        "completion_tokens": u.output_tokens,
        "total_tokens": prompt + u.output_tokens,
        "prompt_tokens_details": {"cached_tokens": u.cache_read_tokens},
    }


@router.post(
    "/v1/chat/completions",
    response_model=None,
    responses={**STREAM_RESPONSES, **error_responses(400, 403, 413, 429, 502)},
)
async def chat_completions(
    body: ChatCompletionBody, request: Request, caller: CallerDep
) -> Response:
    """An OpenAI-compatible chat completion, streamed (SSE) or whole."""
    chain: FallbackChain = request.app.state.chain
    call = body.to_request(chain.catalog)
    call_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    created = int(time.time())
    if not body.stream:
        result, headers = await whole_answer(
            request.app.state.pipeline, call, caller.tenant, caller.highest_allowed()
        )
        completion = result.completion
        payload = {
            "id": call_id,
            "object": "chat.completion",
            "created": created,
            "model": completion.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": completion.text, "refusal": None},
                    "logprobs": None,
                    "finish_reason": finish_reason(completion.stop_reason),
                }
            ],
            "usage": _usage(completion.usage),
        }
        return JSONResponse(payload, headers=headers)
    started = await start_stream(
        request.app.state.pipeline, call, caller.tenant, caller.highest_allowed()
    )
    include_usage = bool(body.stream_options and body.stream_options.include_usage)

    async def sse() -> AsyncIterator[bytes]:
        model = call.model or call.tier.value

        def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
            data = {
                "id": call_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [
                    {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
                ],
                **extra,
            }
            return f"data: {json.dumps(data)}\n\n".encode()

        yield chunk({"role": "assistant", "content": ""})
        try:
            async for event in started.events():
                if isinstance(event, TextDelta):
                    yield chunk({"content": event.text})
                else:
                    model = event.model
                    yield chunk({}, finish_reason(event.stop_reason))
                    if include_usage:
                        data = {
                            "id": call_id,
                            "object": "chat.completion.chunk",
                            "created": created,
                            "model": model,
                            "choices": [],
                            "usage": _usage(event.usage),
                        }
                        yield f"data: {json.dumps(data)}\n\n".encode()
        except ProviderError as exc:  # after the first byte: end with an error event
            error = {"error": {"message": str(exc), "type": "server_error", "code": None}}
            yield f"data: {json.dumps(error)}\n\n".encode()
            return
        finally:
            await started.aclose()
        yield b"data: [DONE]\n\n"

    return StreamingResponse(
        sse(), media_type="text/event-stream", headers={"cache-control": "no-cache"}
    )

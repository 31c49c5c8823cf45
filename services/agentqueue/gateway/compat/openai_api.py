"""``POST /v1/chat/completions`` and ``GET /v1/models``, as OpenAI's API speaks them.

Point the official ``openai`` SDK — or an agent framework built on it — at
``<gateway>/v1`` with an agentqueue key: plain and streamed calls
(``stream_options={"include_usage": True}`` for usage in the last chunk), tools and tool
results, images, structured output and stop sequences work unchanged. ``model`` is any
catalog model (tried first, falling back within its tier) or ``frontier`` /
``efficient``; ``GET /v1/models`` lists them. A stream an OpenAI model answers is its
provider's own bytes, passed through (:mod:`~agentqueue.gateway.compat.passthrough`).
What each parameter does is in :mod:`~agentqueue.gateway.compat.openai_request`;
errors are OpenAI's envelope (:mod:`~agentqueue.gateway.compat.openai_errors`), so the
SDK raises the exception classes agent code catches (``BadRequestError`` with ``param``,
``NotFoundError``, …).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from agentqueue.core.base.errors import ProviderError
from agentqueue.core.base.ids import random_id
from agentqueue.core.calls.fallback import FallbackChain
from agentqueue.core.llm.messages import TextDelta
from agentqueue.gateway.api.deps import CallerDep
from agentqueue.gateway.compat import openai_answer, openai_models
from agentqueue.gateway.compat.calls import STREAM_RESPONSES, start_stream, whole_answer
from agentqueue.gateway.compat.openai_body import ChatCompletionBody
from agentqueue.gateway.compat.openai_errors import OpenAIRoute, openai_error_responses
from agentqueue.gateway.compat.openai_request import check_passthrough, passthrough_of, to_request
from agentqueue.gateway.compat.passthrough import relay, sse_response

router = APIRouter(tags=["openai-compatible"], route_class=OpenAIRoute)
router.include_router(openai_models.router)


@router.post(
    "/v1/chat/completions",
    response_model=None,
    responses={**STREAM_RESPONSES, **openai_error_responses(400, 403, 404, 413, 429, 500, 502)},
)
async def chat_completions(
    body: ChatCompletionBody, request: Request, caller: CallerDep
) -> Response:
    """An OpenAI-compatible chat completion, streamed (SSE) or whole."""
    chain: FallbackChain = request.app.state.chain
    may_pass = body.stream and request.app.state.settings.stream_passthrough
    call = to_request(body, chain.catalog, passthrough=may_pass)
    call_id = f"chatcmpl-{random_id()[:24]}"
    created = int(time.time())
    if not body.stream:
        result, headers = await whole_answer(
            request.app.state.pipeline, call, caller.tenant, caller.highest_allowed(), key=caller
        )
        payload = openai_answer.whole(call_id, created, result.completion)
        return JSONResponse(payload, headers=headers)
    passthrough = passthrough_of(body) if may_pass else None
    if passthrough is not None:
        check_passthrough(call, passthrough, chain.candidates(call))
    started = await start_stream(
        request.app.state.pipeline,
        call,
        caller.tenant,
        caller.highest_allowed(),
        passthrough,
        key=caller,
    )
    if started.passed_through:
        return sse_response(started, relay(started, _stream_error))
    include_usage = bool(body.stream_options and body.stream_options.include_usage)
    chunks = openai_answer.Chunks(call_id, created, call.model or call.tier.value)

    async def sse() -> AsyncIterator[bytes]:
        yield chunks.delta({"role": "assistant", "content": ""})
        try:
            async for event in started.events():
                if isinstance(event, TextDelta):
                    yield chunks.delta({"content": event.text})
                else:
                    for data in chunks.ending(event, include_usage):
                        yield data
        except ProviderError as exc:  # after the first byte: end with an error event
            yield openai_answer.stream_error(str(exc))
            return
        finally:
            await started.aclose()
        yield b"data: [DONE]\n\n"

    return sse_response(started, sse())


def _stream_error(exc: Exception) -> bytes:
    return openai_answer.stream_error(str(exc))

"""``POST /v1/messages`` and ``POST /v1/messages/count_tokens``, as Anthropic's API.

Point the official ``anthropic`` SDK — or an agent framework built on it — at the
gateway's root with an agentqueue key: plain and streamed calls
(``messages.create(stream=True)``, ``messages.stream``), tool use (tools, tool choice,
``tool_use`` / ``tool_result`` blocks), images, system blocks, stop sequences and token
counts work unchanged, and answer through agentqueue's cache, limiter and fallback chain.
``model`` is any catalog model or ``frontier`` / ``efficient``: a ``gpt-*`` model is
answered by OpenAI, tool calls included. A stream Claude answers is Claude's own bytes,
passed through (:mod:`~agentqueue.gateway.compat.passthrough`).

What is accepted, ignored or refused: ``anthropic_request`` (``top_p``, ``top_k`` and
``thinking`` are sent on, with the same checks as Anthropic's; ``cache_control`` is
accepted and ignored) and
``anthropic_blocks`` (``document`` blocks and images inside tool results are refused;
thinking blocks are dropped). Errors answer in Anthropic's envelope and statuses
(``anthropic_errors``), so the SDK raises the classes it documents.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from agentqueue.core.base.ids import random_id
from agentqueue.core.calls.fallback import FallbackChain
from agentqueue.core.llm.providers.base import Passthrough
from agentqueue.core.llm.tokens import estimate_request
from agentqueue.gateway.api.deps import CallerDep
from agentqueue.gateway.compat import anthropic_answer
from agentqueue.gateway.compat.anthropic_errors import AnthropicRoute, anthropic_error_responses
from agentqueue.gateway.compat.anthropic_request import MessagesBody, PromptBody
from agentqueue.gateway.compat.calls import STREAM_RESPONSES, start_stream, whole_answer
from agentqueue.gateway.compat.passthrough import relay, sse_response

router = APIRouter(tags=["anthropic-compatible"], route_class=AnthropicRoute)


@router.post(
    "/v1/messages",
    response_model=None,
    responses={**STREAM_RESPONSES, **anthropic_error_responses(403, 404, 413, 429)},
)
async def messages(body: MessagesBody, request: Request, caller: CallerDep) -> Response:
    """An Anthropic-compatible message, streamed (SSE events) or whole."""
    chain: FallbackChain = request.app.state.chain
    call = body.to_request(chain.catalog)
    message_id = f"msg_{random_id()[:24]}"
    if not body.stream:
        result, headers = await whole_answer(
            request.app.state.pipeline, call, caller.tenant, caller.highest_allowed(), key=caller
        )
        payload = anthropic_answer.message(message_id, result.completion, call.stop)
        return JSONResponse(payload, headers=headers)
    passthrough = (
        Passthrough("anthropic") if request.app.state.settings.stream_passthrough else None
    )
    started = await start_stream(
        request.app.state.pipeline,
        call,
        caller.tenant,
        caller.highest_allowed(),
        passthrough,
        key=caller,
    )
    if started.passed_through:
        return sse_response(started, relay(started, anthropic_answer.stream_error))
    return sse_response(
        started,
        anthropic_answer.events(message_id, call.model or call.tier.value, started, call.stop),
    )


class TokenCount(BaseModel):
    input_tokens: int


@router.post(
    "/v1/messages/count_tokens",
    response_model=TokenCount,
    responses=anthropic_error_responses(404, 413),
)
async def count_tokens(body: PromptBody, request: Request, caller: CallerDep) -> TokenCount:
    """The prompt's tokens (messages, system, tools) by agentqueue's local estimate —
    the one its limiter and quotas reserve with — without calling a model."""
    chain: FallbackChain = request.app.state.chain
    return TokenCount(input_tokens=estimate_request(body.prompt(chain.catalog)))

"""``POST /v1/responses``: OpenAI's Responses API, what the OpenAI Agents SDK
(``OpenAIResponsesModel``, its default) and ``client.responses.create`` speak.

Point the SDK at ``<gateway>/v1`` with an agentqueue key: plain and streamed responses,
function tools and their outputs, images, structured output (``text.format``) work
unchanged, through the same pipeline as Chat Completions (cache, limiter, fallback within
the tier). ``model`` is any catalog model or ``frontier`` / ``efficient``. The gateway
keeps no response state: ``previous_response_id`` is refused, the caller sends the whole
conversation as ``input``. What each parameter does is in
:mod:`~agentqueue.gateway.compat.responses_request`; the answer's shape in
:mod:`~agentqueue.gateway.compat.responses_answer`; errors are OpenAI's envelope.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from agentqueue.core.base.errors import ProviderError
from agentqueue.core.calls.fallback import FallbackChain
from agentqueue.core.llm.messages import TextDelta
from agentqueue.gateway.api.deps import CallerDep
from agentqueue.gateway.compat import responses_answer
from agentqueue.gateway.compat.calls import STREAM_RESPONSES, start_stream, whole_answer
from agentqueue.gateway.compat.openai_errors import OpenAIRoute, openai_error_responses
from agentqueue.gateway.compat.responses_body import ResponsesBody
from agentqueue.gateway.compat.responses_request import to_request

router = APIRouter(tags=["openai-compatible"], route_class=OpenAIRoute)


@router.post(
    "/v1/responses",
    response_model=None,
    responses={**STREAM_RESPONSES, **openai_error_responses(400, 403, 404, 413, 429, 500, 502)},
)
async def create_response(body: ResponsesBody, request: Request, caller: CallerDep) -> Response:
    """An OpenAI-compatible response, streamed (SSE) or whole."""
    chain: FallbackChain = request.app.state.chain
    call = to_request(body, chain.catalog)
    answer = responses_answer.Answer(
        int(time.time()), call.model or call.tier.value, responses_answer.settings(body)
    )
    if not body.stream:
        result, headers = await whole_answer(
            request.app.state.pipeline, call, caller.tenant, caller.highest_allowed(), key=caller
        )
        return JSONResponse(answer.whole(result.completion), headers=headers)
    started = await start_stream(
        request.app.state.pipeline, call, caller.tenant, caller.highest_allowed(), key=caller
    )
    events = responses_answer.Events(answer)

    async def sse() -> AsyncIterator[bytes]:
        for data in events.start():
            yield data
        try:
            async for event in started.events():
                for data in (
                    events.delta(event.text)
                    if isinstance(event, TextDelta)
                    else events.ending(event)
                ):
                    yield data
        except ProviderError as exc:  # after the first byte: end with response.failed
            yield events.failed(str(exc))
        finally:
            await started.aclose()

    return StreamingResponse(
        sse(), media_type="text/event-stream", headers={"cache-control": "no-cache"}
    )

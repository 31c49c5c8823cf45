"""Anthropic Messages through the official ``anthropic`` SDK.

Prompt caching: the stable prefix of a request is marked with ``cache_control``
(ephemeral, five minutes): the tool definitions, the system prompt, and the first user
message when it is a long document that later turns build on (two or more messages, and
at least the model's minimum cacheable length). Anthropic bills a cache write at 1.25 times
and a cache read at 0.1 times the input price (the catalog's ``cache_write`` and
``cache_read``); a marked prefix below the minimum is simply not cached, so marking the
system prompt and tools always is safe. Three marks, within the API's four.

Tools: an assistant turn's calls are ``tool_use`` blocks, a user turn's results
``tool_result`` blocks (leading the turn, as the API requires); consecutive turns of one
role are merged, since the API alternates roles. A JSON response format has no native
form here: it is sent as a tool named after the format and the model is made to call it;
the call's input is the answer's text.

Since SDK 1.0 the sampling parameters are no longer in ``messages.create``'s signature
but the API still takes them: ``temperature``, ``top_p`` and ``top_k`` travel in
``extra_body``. A thinking budget is sent as ``thinking`` (see :func:`_may_think`); the
thinking blocks of the answer are not kept. Which stop sequence ended an answer is the
message's ``stop_sequence``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

import anthropic
import httpx2

from agentqueue.core.base.errors import BadRequest, ProviderError, ProviderTimeout
from agentqueue.core.llm.messages import (
    ChatMessage,
    Completion,
    CompletionRequest,
    ImagePart,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolChoice,
    Usage,
)
from agentqueue.core.llm.providers.base import (
    BINARY_STREAM_KINDS,
    Passthrough,
    Provider,
    ProviderConfig,
    RawEvent,
)
from agentqueue.core.llm.providers.clients import anthropic_client
from agentqueue.core.llm.providers.http_errors import error_for_status, retry_after_seconds
from agentqueue.core.llm.providers.parts import (
    format_tool,
    inline_image,
    new_call_id,
    wants_json,
)
from agentqueue.core.llm.providers.passthrough import (
    anthropic_answer,
    anthropic_opening,
    anthropic_text,
    forward,
    relay,
    stream_failure,
)
from agentqueue.core.llm.rate_headers import RateLimitSnapshot, snapshot_from_headers

#: Status implied by an error type, for errors inside a 200 stream (``event: error``).
_STATUS_OF_TYPE = {
    "overloaded_error": 529,
    "rate_limit_error": 429,
    "api_error": 500,
    "authentication_error": 401,
    "permission_error": 403,
    "request_too_large": 413,
    "invalid_request_error": 400,
    # Bedrock's exception frames inside a 200 event stream (the SDK names them so)
    "throttlingException": 429,
    "serviceUnavailableException": 503,
    "modelStreamErrorException": 500,
    "internalServerException": 500,
    "modelTimeoutException": 500,
    "validationException": 400,
}


def _translate(exc: anthropic.APIError, model: str) -> ProviderError:
    """The one place an Anthropic SDK error becomes ours."""
    if isinstance(exc, anthropic.APIConnectionError):  # includes APITimeoutError
        return ProviderTimeout(str(exc) or type(exc).__name__, provider="anthropic", model=model)
    status: int | None = None
    headers = None
    if isinstance(exc, anthropic.APIStatusError):
        status, headers = exc.status_code, exc.response.headers
    message = exc.message
    body = exc.body
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        message = body["message"]  # Bedrock's error body: {"message": ...}
    if isinstance(error, dict):
        message = str(error.get("message", message))
        if status is None or status < 400:  # the stream had begun with 200
            status = _STATUS_OF_TYPE.get(str(error.get("type")), 500)
    return error_for_status(
        status, message, provider="anthropic", model=model, retry_after=retry_after_seconds(headers)
    )


#: Tokens a prefix needs before Anthropic caches it, by model family (first match).
MIN_CACHEABLE_TOKENS = (
    ("claude-haiku-4", 4096),
    ("claude-opus-4-5", 4096),
    ("claude-opus-4-6", 4096),
    ("claude-sonnet-4-6", 2048),
    ("claude-3-5-haiku", 2048),
    ("claude-3-haiku", 2048),
)
DEFAULT_MIN_CACHEABLE_TOKENS = 1024
EPHEMERAL = {"type": "ephemeral"}


def min_cacheable_tokens(model: str) -> int:
    for prefix, tokens in MIN_CACHEABLE_TOKENS:
        if model.startswith(prefix):
            return tokens
    return DEFAULT_MIN_CACHEABLE_TOKENS


def _estimated_tokens(text: str) -> int:
    return len(text) // 4  # an under-estimate, so a mark is never wasted below the minimum


def _usage(u: Any) -> Usage:
    return Usage(
        input_tokens=u.input_tokens or 0,
        output_tokens=u.output_tokens or 0,
        cache_read_tokens=getattr(u, "cache_read_input_tokens", None) or 0,
        cache_write_tokens=getattr(u, "cache_creation_input_tokens", None) or 0,
    )


def _image(image: ImagePart) -> dict[str, Any]:
    inline = inline_image(image)  # a data: URL is no URL the API can fetch
    if inline is not None:
        media_type, data = inline
        return {
            "type": "image",
            "source": {"type": "base64", "media_type": media_type, "data": data},
        }
    return {"type": "image", "source": {"type": "url", "url": image.url}}


def _blocks(m: ChatMessage) -> list[dict[str, Any]]:
    """One core turn as content blocks: tool results first (the API wants them leading a
    user turn), then text, then images or tool calls. Empty text is left out."""
    blocks: list[dict[str, Any]] = []
    for r in m.tool_results:
        result: dict[str, Any] = {"type": "tool_result", "tool_use_id": r.tool_call_id}
        if r.content:
            result["content"] = r.content
        if r.is_error:
            result["is_error"] = True
        blocks.append(result)
    if m.content:
        blocks.append({"type": "text", "text": m.content})
    blocks += [_image(i) for i in m.images]
    blocks += [
        {"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments} for c in m.tool_calls
    ]
    return blocks


def _merged(request: CompletionRequest, turns: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """API messages from the core turns' blocks: consecutive same-role turns become one
    (the API alternates roles), tool results leading; a lone unmarked text stays a string."""
    merged: list[tuple[str, list[dict[str, Any]]]] = []
    for m, blocks in zip(request.messages, turns, strict=True):
        if merged and merged[-1][0] == m.role:
            merged[-1][1].extend(blocks)
        else:
            merged.append((m.role, list(blocks)))
    out: list[dict[str, Any]] = []
    for role, blocks in merged:
        blocks.sort(key=lambda b: b["type"] != "tool_result")  # stable: order kept otherwise
        if len(blocks) == 1 and blocks[0]["type"] == "text" and "cache_control" not in blocks[0]:
            out.append({"role": role, "content": blocks[0]["text"]})
        else:
            out.append({"role": role, "content": blocks})
    return out


def _tool_choice(choice: ToolChoice | None, parallel: bool | None) -> dict[str, Any] | None:
    """Our choice in the API's words (``required`` is its ``any``); parallel_tool_calls=False
    is its ``disable_parallel_tool_use``, which needs a choice to ride on."""
    if choice is None and parallel is not False:
        return None
    mode = choice.mode if choice is not None else "auto"
    if mode == "tool":
        out: dict[str, Any] = {"type": "tool", "name": choice.name if choice else None}
    else:
        out = {"type": {"auto": "auto", "required": "any", "none": "none"}[mode]}
    if parallel is False and mode != "none":
        out["disable_parallel_tool_use"] = True
    return out


def _may_think(request: CompletionRequest) -> bool:
    """Whether to send the request's thinking budget. Not in the middle of a tool loop:
    the API then wants the previous turn's thinking blocks back, signed, and the core
    keeps none; so the model thinks at the start of each user turn, not between one turn's
    tool calls. Not with a forced tool (the API refuses both), which a JSON answer format
    is on Claude."""
    if request.messages[-1].tool_results:
        return False
    forced = request.tool_choice is not None and request.tool_choice.mode in ("required", "tool")
    return not forced and not wants_json(request.response_format)


class AnthropicProvider(Provider):
    name = "anthropic"
    raw_protocol = "anthropic"
    supports_tools = True
    #: A JSON answer format travels as a forced tool: not beside the request's own tools.
    json_answer_with_tools = False

    def __init__(self, config: ProviderConfig) -> None:
        super().__init__(config)
        # AsyncAnthropic, AsyncAnthropicBedrock or AsyncAnthropicVertex, by the kind
        self._client = anthropic_client(config)

    def _sdk_params(self, request: CompletionRequest, model: str) -> dict[str, Any]:
        """:meth:`_params` with the deployment's own id for ``model`` (a Bedrock model id,
        a Vertex model version); the catalog's name still picks the caching minimum."""
        return {**self._params(request, model), "model": self.config.remote_model(model)}

    @staticmethod
    def _params(request: CompletionRequest, model: str) -> dict[str, Any]:
        turns = [_blocks(m) for m in request.messages]
        first = request.messages[0]
        if (
            len(request.messages) > 1
            and first.role == "user"
            and turns[0]
            and _estimated_tokens(first.all_text()) >= min_cacheable_tokens(model)
        ):
            turns[0][-1] = {**turns[0][-1], "cache_control": EPHEMERAL}  # marks all before it
        params: dict[str, Any] = {
            "model": model,
            "max_tokens": request.max_tokens,
            "messages": _merged(request, turns),
        }
        specs = request.tools
        choice = request.tool_choice
        if wants_json(request.response_format):
            assert request.response_format is not None
            if request.tools:
                raise BadRequest(
                    "response_format cannot be combined with tools on Claude: it is sent as "
                    "a tool the model is made to call",
                    provider="anthropic",
                    model=model,
                )
            specs = [format_tool(request.response_format)]
            choice = ToolChoice(mode="tool", name=request.response_format.name)
        if specs:
            tools: list[dict[str, Any]] = [
                {"name": t.name, "description": t.description, "input_schema": t.input_schema}
                for t in specs
            ]
            tools[-1]["cache_control"] = EPHEMERAL  # marks every definition before it too
            params["tools"] = tools
            # the API takes a tool choice only with tools
            tool_choice = _tool_choice(choice, request.parallel_tool_calls)
            if tool_choice is not None:
                params["tool_choice"] = tool_choice
        if request.system:
            params["system"] = [
                {"type": "text", "text": request.system, "cache_control": EPHEMERAL}
            ]
        if request.stop:
            params["stop_sequences"] = list(request.stop)
        # request.seed is ignored: the Messages API has no seed (the request says it is
        # best-effort, where the provider offers it).
        sampling = {
            name: value
            for name in ("temperature", "top_p", "top_k")
            if (value := getattr(request, name)) is not None
        }
        if sampling:
            params["extra_body"] = sampling
        if request.thinking_budget is not None and _may_think(request):
            params["thinking"] = {"type": "enabled", "budget_tokens": request.thinking_budget}
        return params

    def _completion(
        self,
        message: Any,
        model: str,
        rate_limit: RateLimitSnapshot | None,
        request: CompletionRequest,
        json_text: str | None = None,
    ) -> Completion:
        uses = [b for b in message.content if b.type == "tool_use"]
        stop_reason = message.stop_reason
        if wants_json(request.response_format):
            # the forced format tool's input is the answer; it is no call to make
            inputs = [dict(b.input or {}) for b in uses]
            text = json_text or (json.dumps(inputs[0]) if inputs else "")
            calls: list[ToolCall] = []
            if stop_reason == "tool_use":
                stop_reason = "end_turn"
        else:
            text = "".join(b.text for b in message.content if b.type == "text")
            calls = [ToolCall(id=b.id, name=b.name, arguments=dict(b.input or {})) for b in uses]
        return Completion(
            text=text,
            tool_calls=calls,
            provider=self.name,
            model=self.reported_model(message.model, model),
            usage=_usage(message.usage),
            stop_reason=stop_reason,
            stop_sequence=getattr(message, "stop_sequence", None),
            rate_limit=rate_limit,
        )

    async def complete(self, request: CompletionRequest, model: str) -> Completion:
        params = self._sdk_params(request, model)
        try:
            raw = await self._client.messages.with_raw_response.create(**params)
            message = await raw.parse()
        except anthropic.APIError as exc:
            raise _translate(exc, model) from exc
        return self._completion(message, model, snapshot_from_headers(raw.headers), request)

    async def stream(self, request: CompletionRequest, model: str) -> AsyncIterator[StreamEvent]:
        """Text deltas as they come; tool calls (``tool_use`` blocks, their input streamed
        as ``input_json_delta``) arrive whole in the final Completion. A JSON response
        format streams its forced tool's input as the text, through the SDK's stream
        helper; everything else is read from the SSE bytes directly
        (:func:`~agentqueue.core.llm.providers.passthrough.anthropic_text`), which costs a
        translated stream a third less CPU than the helper's models and snapshots."""
        if wants_json(request.response_format) or self.config.kind in BINARY_STREAM_KINDS:
            async for event in self._stream_sdk(request, model):
                yield event
            return
        response = await self._open_stream(request, model, {})
        async for event in relay(
            response,
            anthropic_text,
            lambda raw: self._answer(raw, response, model),
            lambda exc: stream_failure(exc, response.request, anthropic, _translate, model),
        ):
            yield event

    async def _stream_sdk(
        self, request: CompletionRequest, model: str
    ) -> AsyncIterator[StreamEvent]:
        params = self._sdk_params(request, model)
        as_json = wants_json(request.response_format)
        json_parts: list[str] = []
        try:
            async with self._client.messages.stream(**params) as stream:
                rate_limit = snapshot_from_headers(stream.response.headers)
                async for event in stream:
                    if event.type == "text" and not as_json and event.text:
                        yield TextDelta(text=event.text)
                    elif event.type == "input_json" and as_json and event.partial_json:
                        json_parts.append(event.partial_json)
                        yield TextDelta(text=event.partial_json)
                final = await stream.get_final_message()
        except anthropic.APIError as exc:
            raise _translate(exc, model) from exc
        yield self._completion(final, model, rate_limit, request, "".join(json_parts) or None)

    def passes_through(self, request: CompletionRequest, passthrough: Passthrough) -> bool:
        """Not a JSON answer format: Claude answers it as a forced tool, which the caller
        expects as text (:meth:`stream` translates it)."""
        return super().passes_through(request, passthrough) and not wants_json(
            request.response_format
        )

    async def _open_stream(
        self, request: CompletionRequest, model: str, extra: Mapping[str, Any]
    ) -> httpx2.Response:
        """The streamed call, through the SDK client (its auth, version header, base URL,
        timeout and error types) without its per-event parsing."""
        params = self._sdk_params(request, model)
        merged = params.pop("extra_body", {})  # the SDK merges it into the body: so do we
        body = {**params, **merged, **extra, "stream": True}
        try:
            return await self._client.post(
                "/v1/messages", body=body, cast_to=httpx2.Response, stream=True
            )
        except anthropic.APIError as exc:
            raise _translate(exc, model) from exc

    def _answer(self, raw: bytes, response: httpx2.Response, model: str) -> Completion:
        return self.streamed_answer(
            anthropic_answer(raw, model, new_call_id), response.headers, model
        )

    async def stream_raw(
        self, request: CompletionRequest, model: str, passthrough: Passthrough
    ) -> AsyncIterator[RawEvent]:
        """The same call as :meth:`stream`, its SSE bytes forwarded as they come; the
        answer is read once, at the end."""
        response = await self._open_stream(request, model, passthrough.extra)
        async for data in relay(
            response,
            lambda chunks, kept: forward(chunks, kept, opening=anthropic_opening),
            lambda raw: self._answer(raw, response, model),
            lambda exc: stream_failure(exc, response.request, anthropic, _translate, model),
        ):
            yield data

    async def aclose(self) -> None:
        await self._client.close()

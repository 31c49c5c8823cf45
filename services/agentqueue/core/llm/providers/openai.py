"""OpenAI Chat Completions through the official ``openai`` SDK.

OpenAI caches prompt prefixes of 1,024 tokens and more by itself; its ``prompt_tokens``
include the cached ones (``prompt_tokens_details.cached_tokens``), which :func:`_usage`
moves to ``cache_read_tokens`` so that the catalog prices them at the cached rate.

Chat Completions is the closest protocol to our request: tool calls ride on assistant
messages, each tool result is a ``tool`` message, images are ``image_url`` parts, and
tool choice, stop, seed and response format have direct counterparts.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx2
import openai

from agentqueue.core.base.errors import ProviderError, ProviderTimeout
from agentqueue.core.llm.embeddings import EmbeddingRequest, Embeddings
from agentqueue.core.llm.messages import (
    ChatMessage,
    Completion,
    CompletionRequest,
    ResponseFormat,
    StreamEvent,
    ToolCall,
    ToolChoice,
    Usage,
)
from agentqueue.core.llm.providers.base import Passthrough, Provider, ProviderConfig, RawEvent
from agentqueue.core.llm.providers.clients import openai_client
from agentqueue.core.llm.providers.http_errors import error_for_status, retry_after_seconds
from agentqueue.core.llm.providers.parts import format_schema, image_url, new_call_id
from agentqueue.core.llm.providers.passthrough import (
    OPENAI_USAGE_EVENT,
    forward,
    openai_answer,
    openai_opening,
    openai_text,
    relay,
    stream_failure,
)
from agentqueue.core.llm.rate_headers import RateLimitSnapshot, snapshot_from_headers


def _translate(exc: openai.APIError, model: str) -> ProviderError:
    """The one place an OpenAI SDK error becomes ours."""
    if isinstance(exc, openai.APIConnectionError):  # includes APITimeoutError
        return ProviderTimeout(str(exc) or type(exc).__name__, provider="openai", model=model)
    status: int | None = None
    headers = None
    if isinstance(exc, openai.APIStatusError):
        status, headers = exc.status_code, exc.response.headers
    message = exc.message
    if status is None or status < 400:
        status = 500  # an error inside a 200 stream: the provider failed mid-answer
    return error_for_status(
        status, message, provider="openai", model=model, retry_after=retry_after_seconds(headers)
    )


def _usage(u: Any) -> Usage:
    """OpenAI's prompt_tokens include cached tokens; ours exclude them."""
    if u is None:
        return Usage()
    details = getattr(u, "prompt_tokens_details", None)
    cached = (getattr(details, "cached_tokens", None) or 0) if details else 0
    return Usage(
        input_tokens=(u.prompt_tokens or 0) - cached,
        output_tokens=u.completion_tokens or 0,
        cache_read_tokens=cached,
    )


def _arguments(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except json.JSONDecodeError:
        return {"_raw": text}
    return value if isinstance(value, dict) else {"_value": value}


def _messages(m: ChatMessage) -> list[dict[str, Any]]:
    """One core turn as Chat Completions messages.

    An assistant turn's tool calls travel on its message (content None when it has no
    text). A user turn's tool results become ``tool`` messages, first, so that they follow
    the assistant turn that called them as the API requires; its text and images follow
    in one user message.
    """
    if m.role == "assistant":
        message: dict[str, Any] = {"role": "assistant", "content": m.content or None}
        if m.tool_calls:
            message["tool_calls"] = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": json.dumps(c.arguments)},
                }
                for c in m.tool_calls
            ]
        return [message]
    out: list[dict[str, Any]] = [
        {"role": "tool", "tool_call_id": r.tool_call_id, "content": r.content}
        for r in m.tool_results
    ]
    if m.images:
        content: list[dict[str, Any]] = []
        if m.content:
            content.append({"type": "text", "text": m.content})
        content += [{"type": "image_url", "image_url": {"url": image_url(i)}} for i in m.images]
        out.append({"role": "user", "content": content})
    elif m.content:
        out.append({"role": "user", "content": m.content})
    return out


def _tool_choice(choice: ToolChoice) -> str | dict[str, Any]:
    if choice.mode == "tool":
        return {"type": "function", "function": {"name": choice.name}}
    return choice.mode  # "auto", "none" and "required" are OpenAI's own words


def _response_format(response_format: ResponseFormat) -> dict[str, Any]:
    if response_format.type != "json_schema":
        return {"type": response_format.type}
    return {
        "type": "json_schema",
        "json_schema": {
            "name": response_format.name,
            "schema": format_schema(response_format),
            "strict": response_format.strict,
        },
    }


class OpenAIProvider(Provider):
    name = "openai"
    raw_protocol = "openai"
    supports_tools = True
    supports_embeddings = True

    def __init__(self, config: ProviderConfig) -> None:
        super().__init__(config)
        self._client = openai_client(config)  # AsyncOpenAI, or AsyncAzureOpenAI

    def _sdk_params(self, request: CompletionRequest, model: str) -> dict[str, Any]:
        """:meth:`_params` with the deployment's own id for ``model`` (Azure: its name)."""
        return {**self._params(request, model), "model": self.config.remote_model(model)}

    @staticmethod
    def _params(request: CompletionRequest, model: str) -> dict[str, Any]:
        messages: list[dict[str, Any]] = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        for m in request.messages:
            messages += _messages(m)
        params: dict[str, Any] = {
            "model": model,
            "messages": messages,
            "max_completion_tokens": request.max_tokens,
        }
        if request.temperature is not None:
            params["temperature"] = request.temperature
        if request.top_p is not None:
            params["top_p"] = request.top_p
        # request.top_k and request.thinking_budget have no Chat Completions counterpart
        # (the fallback chain sends a thinking budget only to models that think).
        if request.tools:
            params["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": t.name,
                        "description": t.description,
                        "parameters": t.input_schema,
                    },
                }
                for t in request.tools
            ]
            # both are refused without tools, so they travel only with them
            if request.parallel_tool_calls is not None:
                params["parallel_tool_calls"] = request.parallel_tool_calls
            if request.tool_choice is not None:
                params["tool_choice"] = _tool_choice(request.tool_choice)
        if request.stop:
            params["stop"] = list(request.stop)
        if request.seed is not None:
            params["seed"] = request.seed
        if request.response_format is not None:
            params["response_format"] = _response_format(request.response_format)
        return params

    async def complete(self, request: CompletionRequest, model: str) -> Completion:
        try:
            raw = await self._client.chat.completions.with_raw_response.create(
                **self._sdk_params(request, model)
            )
            response = raw.parse()
        except openai.APIError as exc:
            raise _translate(exc, model) from exc
        return self._completion(response, model, snapshot_from_headers(raw.headers))

    def _completion(
        self, response: Any, model: str, rate_limit: RateLimitSnapshot | None = None
    ) -> Completion:
        """A ``ChatCompletion`` as our answer (online, or a batch's result line)."""
        choice = response.choices[0]
        calls = [
            ToolCall(id=c.id, name=c.function.name, arguments=_arguments(c.function.arguments))
            for c in choice.message.tool_calls or []
            if c.type == "function"
        ]
        return Completion(
            text=choice.message.content or "",
            tool_calls=calls,
            provider=self.name,
            model=self.reported_model(response.model, model),
            usage=_usage(response.usage),
            stop_reason=choice.finish_reason,
            rate_limit=rate_limit,
        )

    async def stream(self, request: CompletionRequest, model: str) -> AsyncIterator[StreamEvent]:
        """Content deltas as they come, then the whole answer (tool calls assembled from
        their pieces, the usage from the last chunk). Read from the SSE bytes
        (:func:`~agentqueue.core.llm.providers.passthrough.openai_text`, one ``json.loads``
        a chunk) rather than through the SDK's chunk models: the call itself still goes
        through the SDK client, as :meth:`stream_raw`'s does."""
        response = await self._open_stream(request, model, {})
        async for event in relay(
            response,
            openai_text,
            lambda raw: self._answer(raw, response, model),
            lambda exc: stream_failure(exc, response.request, openai, _translate, model),
        ):
            yield event

    async def _open_stream(
        self, request: CompletionRequest, model: str, extra: Mapping[str, Any]
    ) -> httpx2.Response:
        """The streamed call, usage always asked for, through the SDK client (its auth,
        base URL, Azure deployment paths, timeout and error types) without its per-chunk
        parsing."""
        body = {
            **self._sdk_params(request, model),
            **extra,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        try:
            return await self._client.post(
                "/chat/completions", body=body, cast_to=httpx2.Response, stream=True
            )
        except openai.APIError as exc:
            raise _translate(exc, model) from exc

    def _answer(self, raw: bytes, response: httpx2.Response, model: str) -> Completion:
        return self.streamed_answer(openai_answer(raw, model, new_call_id), response.headers, model)

    async def stream_raw(
        self, request: CompletionRequest, model: str, passthrough: Passthrough
    ) -> AsyncIterator[RawEvent]:
        """The same call as :meth:`stream` (plus ``passthrough.extra``), its SSE bytes
        forwarded as they come. :attr:`Passthrough.hide_usage` cuts the usage chunk out
        of what the caller sees."""
        response = await self._open_stream(request, model, passthrough.extra)
        cut = OPENAI_USAGE_EVENT if passthrough.hide_usage else None
        async for data in relay(
            response,
            lambda chunks, kept: forward(chunks, kept, opening=openai_opening, cut=cut),
            lambda raw: self._answer(raw, response, model),
            lambda exc: stream_failure(exc, response.request, openai, _translate, model),
        ):
            yield data

    async def embed(self, request: EmbeddingRequest, model: str) -> Embeddings:
        """``embeddings.create`` with float vectors (the SDK would ask for base64 and decode
        it otherwise; floats keep this adapter free of that)."""
        params: dict[str, Any] = {
            "model": self.config.remote_model(model),
            "input": list(request.inputs),
            "encoding_format": "float",
        }
        if request.dimensions is not None:
            params["dimensions"] = request.dimensions
        try:
            raw = await self._client.embeddings.with_raw_response.create(**params)
            response = raw.parse()
        except openai.APIError as exc:
            raise _translate(exc, model) from exc
        data = sorted(response.data, key=lambda d: d.index)
        return Embeddings(
            vectors=[list(d.embedding) for d in data],
            provider=self.name,
            model=self.reported_model(response.model, model),
            input_tokens=(response.usage.prompt_tokens if response.usage else 0)
            or request.estimated_tokens(),
            rate_limit=snapshot_from_headers(raw.headers),
        )

    async def aclose(self) -> None:
        await self._client.close()

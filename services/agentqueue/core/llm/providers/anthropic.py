"""Anthropic Messages through the official ``anthropic`` SDK.

Prompt caching: the stable prefix of a request is marked with ``cache_control``
(ephemeral, five minutes): the tool definitions, the system prompt, and the first user
message when it is a long document that later turns build on (two or more messages, and
at least the model's minimum cacheable length). Anthropic bills a cache write at 1.25 times
and a cache read at 0.1 times the input price (the catalog's ``cache_write`` and
``cache_read``); a marked prefix below the minimum is simply not cached, so marking the
system prompt and tools always is safe. Three marks, within the API's four.

Since SDK 1.0 the sampling parameters are no longer in ``messages.create``'s signature
but the API still takes them: ``temperature`` travels in ``extra_body``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anthropic

from agentqueue.core.base.errors import ProviderError, ProviderTimeout
from agentqueue.core.llm.messages import (
    Completion,
    CompletionRequest,
    StreamEvent,
    TextDelta,
    ToolCall,
    Usage,
)
from agentqueue.core.llm.providers.base import Provider, ProviderConfig
from agentqueue.core.llm.providers.http_errors import error_for_status, retry_after_seconds
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


class AnthropicProvider(Provider):
    name = "anthropic"
    supports_tools = True

    def __init__(self, config: ProviderConfig) -> None:
        super().__init__(config)
        self._client = anthropic.AsyncAnthropic(
            api_key=config.api_key,
            base_url=config.base_url,
            timeout=config.timeout,
            max_retries=0,
        )

    @staticmethod
    def _params(request: CompletionRequest, model: str) -> dict[str, Any]:
        messages: list[dict[str, Any]] = [
            {"role": m.role, "content": m.content} for m in request.messages
        ]
        first = request.messages[0]
        if (
            len(request.messages) > 1
            and first.role == "user"
            and _estimated_tokens(first.content) >= min_cacheable_tokens(model)
        ):
            messages[0]["content"] = [
                {"type": "text", "text": first.content, "cache_control": EPHEMERAL}
            ]
        params: dict[str, Any] = {
            "model": model,
            "max_tokens": request.max_tokens,
            "messages": messages,
        }
        if request.tools:
            tools: list[dict[str, Any]] = [
                {"name": t.name, "description": t.description, "input_schema": t.input_schema}
                for t in request.tools
            ]
            tools[-1]["cache_control"] = EPHEMERAL  # marks every definition before it too
            params["tools"] = tools
        if request.system:
            params["system"] = [
                {"type": "text", "text": request.system, "cache_control": EPHEMERAL}
            ]
        if request.temperature is not None:
            params["extra_body"] = {"temperature": request.temperature}
        return params

    def _completion(
        self, message: Any, model: str, rate_limit: RateLimitSnapshot | None
    ) -> Completion:
        text = "".join(b.text for b in message.content if b.type == "text")
        calls = [
            ToolCall(id=b.id, name=b.name, arguments=dict(b.input or {}))
            for b in message.content
            if b.type == "tool_use"
        ]
        return Completion(
            text=text,
            tool_calls=calls,
            provider=self.name,
            model=message.model or model,
            usage=_usage(message.usage),
            stop_reason=message.stop_reason,
            rate_limit=rate_limit,
        )

    async def complete(self, request: CompletionRequest, model: str) -> Completion:
        try:
            raw = await self._client.messages.with_raw_response.create(
                **self._params(request, model)
            )
            message = await raw.parse()
        except anthropic.APIError as exc:
            raise _translate(exc, model) from exc
        return self._completion(message, model, snapshot_from_headers(raw.headers))

    async def stream(self, request: CompletionRequest, model: str) -> AsyncIterator[StreamEvent]:
        try:
            async with self._client.messages.stream(**self._params(request, model)) as stream:
                rate_limit = snapshot_from_headers(stream.response.headers)
                async for text in stream.text_stream:
                    yield TextDelta(text=text)
                final = await stream.get_final_message()
        except anthropic.APIError as exc:
            raise _translate(exc, model) from exc
        yield self._completion(final, model, rate_limit)

    async def aclose(self) -> None:
        await self._client.close()

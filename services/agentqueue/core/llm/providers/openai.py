"""OpenAI Chat Completions through the official ``openai`` SDK.

OpenAI caches prompt prefixes of 1,024 tokens and more by itself; its ``prompt_tokens``
include the cached ones (``prompt_tokens_details.cached_tokens``), which :func:`_usage`
moves to ``cache_read_tokens`` so that the catalog prices them at the cached rate.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import openai

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
from agentqueue.core.llm.rate_headers import snapshot_from_headers


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


class OpenAIProvider(Provider):
    name = "openai"
    supports_tools = True

    def __init__(self, config: ProviderConfig) -> None:
        super().__init__(config)
        self._client = openai.AsyncOpenAI(
            api_key=config.api_key,
            base_url=config.base_url,
            timeout=config.timeout,
            max_retries=0,
        )

    @staticmethod
    def _params(request: CompletionRequest, model: str) -> dict[str, Any]:
        messages: list[dict[str, str]] = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        messages += [{"role": m.role, "content": m.content} for m in request.messages]
        params: dict[str, Any] = {
            "model": model,
            "messages": messages,
            "max_completion_tokens": request.max_tokens,
        }
        if request.temperature is not None:
            params["temperature"] = request.temperature
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
        return params

    async def complete(self, request: CompletionRequest, model: str) -> Completion:
        try:
            raw = await self._client.chat.completions.with_raw_response.create(
                **self._params(request, model)
            )
            response = raw.parse()
        except openai.APIError as exc:
            raise _translate(exc, model) from exc
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
            model=response.model or model,
            usage=_usage(response.usage),
            stop_reason=choice.finish_reason,
            rate_limit=snapshot_from_headers(raw.headers),
        )

    async def stream(self, request: CompletionRequest, model: str) -> AsyncIterator[StreamEvent]:
        parts: list[str] = []
        tool_parts: dict[int, dict[str, str]] = {}
        usage = Usage()
        stop_reason: str | None = None
        answered_model = model
        try:
            chunks = await self._client.chat.completions.create(
                **self._params(request, model),
                stream=True,
                stream_options={"include_usage": True},
            )
            rate_limit = snapshot_from_headers(chunks.response.headers)
            async for chunk in chunks:
                answered_model = chunk.model or answered_model
                if chunk.usage is not None:
                    usage = _usage(chunk.usage)
                for choice in chunk.choices:
                    if choice.finish_reason:
                        stop_reason = choice.finish_reason
                    if choice.delta.content:
                        parts.append(choice.delta.content)
                        yield TextDelta(text=choice.delta.content)
                    for call in choice.delta.tool_calls or []:
                        part = tool_parts.setdefault(call.index, {"id": "", "name": "", "args": ""})
                        part["id"] = call.id or part["id"]
                        if call.function is not None:
                            part["name"] = call.function.name or part["name"]
                            part["args"] += call.function.arguments or ""
        except openai.APIError as exc:
            raise _translate(exc, model) from exc
        yield Completion(
            text="".join(parts),
            tool_calls=[
                ToolCall(id=p["id"], name=p["name"], arguments=_arguments(p["args"]))
                for _, p in sorted(tool_parts.items())
            ],
            provider=self.name,
            model=answered_model,
            usage=usage,
            stop_reason=stop_reason,
            rate_limit=rate_limit,
        )

    async def aclose(self) -> None:
        await self._client.close()

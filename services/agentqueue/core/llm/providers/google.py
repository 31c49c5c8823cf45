"""Gemini generateContent through the official ``google-genai`` SDK.

google-genai retries connection errors on its own unless ``retry_options`` are given
(we give one attempt), and raises :class:`errors.APIError`
(``ClientError`` for 4xx, ``ServerError`` for 5xx) with the JSON error body; a 429 names
its wait in the body's ``RetryInfo.retryDelay`` ("2s"), not in a header. Transport
failures surface as the HTTP library's own exceptions (httpx, or aiohttp when installed).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from google import genai
from google.genai import errors, types

from agentqueue.core.base.errors import ProviderError, ProviderTimeout
from agentqueue.core.llm.messages import (
    Completion,
    CompletionRequest,
    StreamEvent,
    TextDelta,
    Usage,
)
from agentqueue.core.llm.providers.base import Provider, ProviderConfig
from agentqueue.core.llm.providers.http_errors import error_for_status


def _transport_errors() -> tuple[type[BaseException], ...]:
    found: list[type[BaseException]] = [TimeoutError, OSError]
    for module, name in (
        ("httpx", "TransportError"),
        ("httpx2", "TransportError"),
        ("aiohttp", "ClientError"),
    ):
        try:
            found.append(getattr(__import__(module), name))
        except (ImportError, AttributeError):
            continue
    return tuple(found)


_CAUGHT: tuple[type[BaseException], ...] = (errors.APIError, *_transport_errors())


def _retry_delay(details: Any) -> float | None:
    """``RetryInfo.retryDelay`` ("2s", "1.5s") from an error body, in seconds."""
    error = details.get("error", details) if isinstance(details, dict) else None
    for item in (error or {}).get("details", []) or []:
        delay = item.get("retryDelay") if isinstance(item, dict) else None
        if isinstance(delay, str) and delay.endswith("s"):
            try:
                return float(delay[:-1])
            except ValueError:
                return None
    return None


def _translate(exc: BaseException, model: str) -> ProviderError:
    """The one place a google-genai (or transport) error becomes ours."""
    if isinstance(exc, errors.APIError):
        return error_for_status(
            exc.code,
            exc.message or str(exc),
            provider="google",
            model=model,
            retry_after=_retry_delay(exc.details),
        )
    return ProviderTimeout(f"{type(exc).__name__}: {exc}", provider="google", model=model)


def _usage(meta: Any) -> Usage:
    """Gemini's promptTokenCount includes cached tokens; ours exclude them."""
    if meta is None:
        return Usage()
    cached = meta.cached_content_token_count or 0
    return Usage(
        input_tokens=(meta.prompt_token_count or 0) - cached,
        output_tokens=meta.candidates_token_count or 0,
        cache_read_tokens=cached,
    )


class GoogleProvider(Provider):
    name = "google"

    def __init__(self, config: ProviderConfig) -> None:
        super().__init__(config)
        # attempts=1: no retries. Without retry_options the SDK silently retries
        # connection errors after 1-10 s sleeps, hiding an outage from our breaker.
        options = types.HttpOptions(
            base_url=config.base_url,
            timeout=int(config.timeout * 1000),
            retry_options=types.HttpRetryOptions(attempts=1),
        )
        self._client = genai.Client(api_key=config.api_key, http_options=options)

    @staticmethod
    def _args(
        request: CompletionRequest,
    ) -> tuple[list[types.Content], types.GenerateContentConfig]:
        contents = [
            types.Content(
                role="model" if m.role == "assistant" else "user",
                parts=[types.Part(text=m.content)],
            )
            for m in request.messages
        ]
        config = types.GenerateContentConfig(
            max_output_tokens=request.max_tokens,
            temperature=request.temperature,
            system_instruction=request.system,
        )
        return contents, config

    def _completion(self, response: Any, text: str, model: str) -> Completion:
        candidates = response.candidates or []
        finish = candidates[0].finish_reason if candidates else None
        return Completion(
            text=text,
            provider=self.name,
            model=response.model_version or model,
            usage=_usage(response.usage_metadata),
            stop_reason=str(finish.value if hasattr(finish, "value") else finish)
            if finish
            else None,
        )

    async def complete(self, request: CompletionRequest, model: str) -> Completion:
        contents, config = self._args(request)
        try:
            response = await self._client.aio.models.generate_content(
                model=model, contents=contents, config=config
            )  # type: ignore[arg-type]
        except _CAUGHT as exc:
            raise _translate(exc, model) from exc
        return self._completion(response, response.text or "", model)

    async def stream(self, request: CompletionRequest, model: str) -> AsyncIterator[StreamEvent]:
        contents, config = self._args(request)
        parts: list[str] = []
        last: Any = None
        try:
            stream = await self._client.aio.models.generate_content_stream(
                model=model, contents=contents, config=config
            )  # type: ignore[arg-type]
            async for chunk in stream:
                last = chunk
                if chunk.text:
                    parts.append(chunk.text)
                    yield TextDelta(text=chunk.text)
        except _CAUGHT as exc:
            raise _translate(exc, model) from exc
        if last is None:
            raise ProviderTimeout("stream ended before any chunk", provider="google", model=model)
        yield self._completion(last, "".join(parts), model)

    async def aclose(self) -> None:
        await self._client.aio.aclose()

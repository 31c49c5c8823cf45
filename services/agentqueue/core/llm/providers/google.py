"""Gemini generateContent through the official ``google-genai`` SDK.

google-genai retries connection errors on its own unless ``retry_options`` are given
(we give one attempt), and raises :class:`errors.APIError`
(``ClientError`` for 4xx, ``ServerError`` for 5xx) with the JSON error body; a 429 names
its wait in the body's ``RetryInfo.retryDelay`` ("2s"), not in a header. Transport
failures surface as the HTTP library's own exceptions (httpx, or aiohttp when installed).

Tools: a model turn's calls are ``function_call`` parts, a user turn's results
``function_response`` parts, which Gemini matches by the tool's name (taken from the
result, or from the call it answers). Gemini may give a call no id; one is made up so
that the caller can answer it. A JSON response format is Gemini's own JSON mode, with
the schema as ``response_json_schema``.
"""

from __future__ import annotations

import mimetypes
from collections.abc import AsyncIterator
from typing import Any

from google.genai import errors, types

from agentqueue.core.base.errors import ProviderError, ProviderTimeout
from agentqueue.core.llm.embeddings import EmbeddingRequest, Embeddings
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
from agentqueue.core.llm.providers.base import Provider, ProviderConfig
from agentqueue.core.llm.providers.clients import google_client
from agentqueue.core.llm.providers.http_errors import error_for_status
from agentqueue.core.llm.providers.parts import (
    format_schema,
    image_bytes,
    new_call_id,
    tool_names_by_id,
    tool_result_name,
    wants_json,
)


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
#: Contents one ``batchEmbedContents`` call may hold (the Gemini API's limit).
EMBED_BATCH = 100


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


def _image(image: ImagePart, model: str) -> types.Part:
    inline = image_bytes(image, provider="google", model=model)
    if inline is not None:
        media_type, data = inline
        return types.Part(inline_data=types.Blob(mime_type=media_type, data=data))
    mime = image.media_type or mimetypes.guess_type(image.url or "")[0]
    return types.Part(file_data=types.FileData(file_uri=image.url, mime_type=mime))


def _parts(m: ChatMessage, names: dict[str, str], model: str) -> list[types.Part]:
    """One core turn as Gemini parts: text, images, function calls of a model turn and
    function responses of a user turn (named by :func:`tool_result_name`: Gemini matches
    a response to its call by name)."""
    parts: list[types.Part] = []
    for r in m.tool_results:
        name = tool_result_name(r, names, provider="google", model=model)
        response = {"error": r.content} if r.is_error else {"output": r.content}
        parts.append(
            types.Part(
                function_response=types.FunctionResponse(
                    id=r.tool_call_id, name=name, response=response
                )
            )
        )
    if m.content:
        parts.append(types.Part(text=m.content))
    parts += [_image(i, model) for i in m.images]
    parts += [
        types.Part(function_call=types.FunctionCall(id=c.id, name=c.name, args=c.arguments))
        for c in m.tool_calls
    ]
    return parts


def _tool_config(choice: ToolChoice) -> types.ToolConfig:
    mode = {
        "auto": types.FunctionCallingConfigMode.AUTO,
        "required": types.FunctionCallingConfigMode.ANY,
        "tool": types.FunctionCallingConfigMode.ANY,
        "none": types.FunctionCallingConfigMode.NONE,
    }[choice.mode]
    return types.ToolConfig(
        function_calling_config=types.FunctionCallingConfig(
            mode=mode, allowed_function_names=[choice.name] if choice.name else None
        )
    )


def _response_parts(response: Any) -> list[Any]:
    candidates = response.candidates or []
    content = candidates[0].content if candidates else None
    return list(content.parts or []) if content is not None else []


def _text(response: Any) -> str:
    """The answer's text parts (thoughts left out); unlike ``response.text`` it says
    nothing when a chunk holds only a function call."""
    return "".join(
        p.text for p in _response_parts(response) if p.text and not getattr(p, "thought", False)
    )


def _calls(response: Any) -> list[ToolCall]:
    """The response's function calls, with an id made up where Gemini gives none."""
    return [
        ToolCall(
            id=p.function_call.id or new_call_id(),
            name=p.function_call.name,
            arguments=dict(p.function_call.args or {}),
        )
        for p in _response_parts(response)
        if p.function_call is not None and p.function_call.name
    ]


class GoogleProvider(Provider):
    name = "google"
    supports_tools = True
    supports_embeddings = True

    def __init__(self, config: ProviderConfig) -> None:
        super().__init__(config)
        # the Gemini API or Vertex AI, one attempt per call (see clients.google_client)
        self._client = google_client(config)

    @staticmethod
    def _args(
        request: CompletionRequest, model: str = ""
    ) -> tuple[list[types.Content], types.GenerateContentConfig]:
        names = tool_names_by_id(request.messages)
        contents = [
            types.Content(
                role="model" if m.role == "assistant" else "user",
                parts=_parts(m, names, model),
            )
            for m in request.messages
        ]
        config = types.GenerateContentConfig(
            max_output_tokens=request.max_tokens,
            temperature=request.temperature,
            top_p=request.top_p,
            top_k=request.top_k,
            thinking_config=types.ThinkingConfig(thinking_budget=request.thinking_budget)
            if request.thinking_budget is not None
            else None,
            system_instruction=request.system,
            stop_sequences=list(request.stop) or None,
            seed=request.seed,
            # no automatic calling: the caller runs the tools and sends their results
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True)
            if request.tools
            else None,
        )
        if request.tools:
            config.tools = [
                types.Tool(
                    function_declarations=[
                        types.FunctionDeclaration(
                            name=t.name,
                            description=t.description or None,
                            parameters_json_schema=t.input_schema,
                        )
                        for t in request.tools
                    ]
                )
            ]
            if request.tool_choice is not None:
                config.tool_config = _tool_config(request.tool_choice)
        # parallel_tool_calls has no Gemini counterpart: the model decides, and with
        # parallel_tool_calls=False only its first call is kept (see _completion).
        if wants_json(request.response_format):
            assert request.response_format is not None
            config.response_mime_type = "application/json"
            if request.response_format.type == "json_schema":
                config.response_json_schema = format_schema(request.response_format)
        return contents, config

    def _completion(
        self,
        response: Any,
        text: str,
        model: str,
        calls: list[ToolCall] | None = None,
        *,
        parallel: bool = True,
    ) -> Completion:
        candidates = response.candidates or []
        finish = candidates[0].finish_reason if candidates else None
        calls = calls if calls is not None else _calls(response)
        if not parallel:  # Gemini has no switch for it: the first call only, as asked
            calls = calls[:1]
        return Completion(
            text=text,
            tool_calls=calls,
            provider=self.name,
            model=self.reported_model(response.model_version, model),
            usage=_usage(response.usage_metadata),
            stop_reason=str(finish.value if hasattr(finish, "value") else finish)
            if finish
            else None,
        )

    async def complete(self, request: CompletionRequest, model: str) -> Completion:
        contents, config = self._args(request, model)
        try:
            response = await self._client.aio.models.generate_content(
                model=self.config.remote_model(model), contents=contents, config=config
            )  # type: ignore[arg-type]
        except _CAUGHT as exc:
            raise _translate(exc, model) from exc
        parallel = request.parallel_tool_calls is not False
        return self._completion(response, _text(response), model, parallel=parallel)

    async def stream(self, request: CompletionRequest, model: str) -> AsyncIterator[StreamEvent]:
        """Text deltas as they come; function calls (whole in the chunk that carries
        them) are gathered over the chunks into the final Completion's tool calls."""
        contents, config = self._args(request, model)
        parts: list[str] = []
        calls: list[ToolCall] = []
        last: Any = None
        try:
            stream = await self._client.aio.models.generate_content_stream(
                model=self.config.remote_model(model), contents=contents, config=config
            )  # type: ignore[arg-type]
            async for chunk in stream:
                last = chunk
                text = _text(chunk)
                if text:
                    parts.append(text)
                    yield TextDelta(text=text)
                calls += _calls(chunk)
        except _CAUGHT as exc:
            raise _translate(exc, model) from exc
        if last is None:
            raise ProviderTimeout("stream ended before any chunk", provider="google", model=model)
        parallel = request.parallel_tool_calls is not False
        yield self._completion(last, "".join(parts), model, calls, parallel=parallel)

    async def embed(self, request: EmbeddingRequest, model: str) -> Embeddings:
        """``embed_content`` (the Gemini API's ``batchEmbedContents``), in batches of
        :data:`EMBED_BATCH` contents, the most one such call takes. Gemini's answer may not
        count tokens: then the local estimate stands in for the input tokens."""
        config = types.EmbedContentConfig(output_dimensionality=request.dimensions)
        vectors: list[list[float]] = []
        counted: int | None = 0
        for start in range(0, len(request.inputs), EMBED_BATCH):
            # typed loosely: the SDK's content union changes with the optional pillow
            batch: list[Any] = list(request.inputs[start : start + EMBED_BATCH])
            try:
                response = await self._client.aio.models.embed_content(
                    model=self.config.remote_model(model), contents=batch, config=config
                )
            except _CAUGHT as exc:
                raise _translate(exc, model) from exc
            got = [list(e.values or []) for e in response.embeddings or []]
            if len(got) != len(batch):
                raise ProviderError(
                    f"{len(got)} embeddings for {len(batch)} inputs", provider="google", model=model
                )
            vectors += got
            meta = response.usage_metadata
            tokens = meta.prompt_token_count if meta is not None else None
            counted = counted + tokens if counted is not None and tokens is not None else None
        return Embeddings(
            vectors=vectors,
            provider=self.name,
            model=model,
            input_tokens=counted or request.estimated_tokens(),
        )

    async def aclose(self) -> None:
        await self._client.aio.aclose()

"""The provider SDKs' lazy set-up, done at a service's start instead of on a request.

Why: the ``anthropic``, ``openai`` and ``google-genai`` SDKs build pydantic validators
for a response type the first time they parse one. The first error the Anthropic SDK
makes (an ``OverloadedError`` from a 529, say) costs about 40 ms of CPU on a quiet
machine, the first OpenAI stream chunk about 6 ms, Gemini's first answer about 23 ms and
its first request's config about 5 ms; on a busy machine it is several times that, all
of it holding the event loop. A process meets those first responses at the worst moment:
the primary provider's first 529s when an outage starts, and the fallback's first stream
right after. In ``bench/scenario`` the interactive gateway used 0.4 cores in the outage's
first two seconds, against 0.07 on average, with every chat in flight waiting.

How: a client of each SDK talks to an in-memory transport (``httpx.MockTransport``)
that answers a message, a stream and each error status the adapters meet, so every
response goes through the SDK's own parsing once. No network, no key; what it builds is
shared by every client of the process (the validators are cached per type).
"""

from __future__ import annotations

import functools
import importlib
import json
import logging
from collections.abc import Callable
from contextlib import suppress
from typing import Any

import anthropic
import httpx
import openai
from google import genai
from google.genai import errors as genai_errors
from google.genai import types as genai_types

log = logging.getLogger(__name__)

#: Statuses whose error classes the SDKs build (client errors, limits, outages).
ERROR_STATUSES = (400, 401, 403, 404, 409, 413, 422, 429, 500, 502, 503, 529)

_STATUS_HEADER = "x-agentqueue-warm-up-status"
_MESSAGES = [{"role": "user", "content": "warm-up"}]


def _sse(events: list[tuple[str | None, dict[str, object] | str]]) -> bytes:
    lines = []
    for name, data in events:
        payload = data if isinstance(data, str) else json.dumps(data)
        lines.append((f"event: {name}\n" if name else "") + f"data: {payload}\n\n")
    return "".join(lines).encode()


_ANTHROPIC_MESSAGE: dict[str, object] = {
    "id": "msg_warm",
    "type": "message",
    "role": "assistant",
    "model": "warm-up",
    "content": [{"type": "text", "text": "ok"}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 1, "output_tokens": 1},
}


def _anthropic_event(kind: str, **fields: object) -> tuple[str, dict[str, object]]:
    return kind, {"type": kind, **fields}


_ANTHROPIC_STREAM = _sse(
    [
        _anthropic_event("message_start", message={**_ANTHROPIC_MESSAGE, "content": []}),
        _anthropic_event(
            "content_block_start", index=0, content_block={"type": "text", "text": ""}
        ),
        _anthropic_event(
            "content_block_delta", index=0, delta={"type": "text_delta", "text": "ok"}
        ),
        _anthropic_event("content_block_stop", index=0),
        _anthropic_event(
            "message_delta", delta={"stop_reason": "end_turn"}, usage={"output_tokens": 1}
        ),
        _anthropic_event("message_stop"),
    ]
)

_OPENAI_USAGE = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
_OPENAI_COMPLETION: dict[str, object] = {
    "id": "chatcmpl-warm",
    "object": "chat.completion",
    "created": 0,
    "model": "warm-up",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "ok"},
            "finish_reason": "stop",
        }
    ],
    "usage": _OPENAI_USAGE,
}


def _openai_chunk(
    delta: dict[str, object], finish: str | None, usage: object = None
) -> dict[str, object]:
    choices = [] if usage else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return {
        "id": "chatcmpl-warm",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "warm-up",
        "choices": choices,
        "usage": usage,
    }


_OPENAI_STREAM = _sse(
    [
        (None, _openai_chunk({"role": "assistant", "content": "ok"}, None)),
        (None, _openai_chunk({}, "stop")),
        (None, _openai_chunk({}, None, _OPENAI_USAGE)),
        (None, "[DONE]"),
    ]
)

_OPENAI_EMBEDDINGS = {
    "object": "list",
    "data": [{"object": "embedding", "index": 0, "embedding": [0.0, 1.0]}],
    "model": "warm-up",
    "usage": {"prompt_tokens": 1, "total_tokens": 1},
}


_GEMINI_ANSWER: dict[str, object] = {
    "candidates": [
        {
            "content": {"role": "model", "parts": [{"text": "ok"}]},
            "finishReason": "STOP",
            "index": 0,
        }
    ],
    "usageMetadata": {"promptTokenCount": 1, "candidatesTokenCount": 1, "totalTokenCount": 2},
    "modelVersion": "warm-up",
}

_GEMINI_STREAM = _sse([(None, _GEMINI_ANSWER)])


#: What answers a warm-up request that asked for no error: (the HTTP package, the request).
Answer = Callable[[Any, Any], Any]


def _http_client(sdk: Any, ok: Answer) -> Any:
    """The SDK's own HTTP client class (``httpx`` or the ``httpx2`` fork, whichever
    this version takes) on an in-memory transport of the same package."""
    client_class = sdk.DefaultHttpxClient
    package = importlib.import_module(client_class.__mro__[1].__module__.split(".")[0])
    return client_class(transport=package.MockTransport(lambda r: _answer(package, r, ok)))


def _answer(package: Any, request: Any, ok: Answer) -> Any:
    """The error status the request's header asks for, else ``ok``'s answer."""
    status = int(request.headers.get(_STATUS_HEADER, "200"))
    if status != 200:
        error = {"type": "error", "error": {"type": "api_error", "message": "warm-up"}}
        return package.Response(status, json=error, headers={"retry-after": "0"})
    return ok(package, request)


def _body(request: Any) -> dict[str, object]:
    return dict(json.loads(request.content or b"{}"))


def _event_stream(package: Any, content: bytes) -> Any:
    return package.Response(200, content=content, headers={"content-type": "text/event-stream"})


def _anthropic_ok(package: Any, request: Any) -> Any:
    if _body(request).get("stream"):
        return _event_stream(package, _ANTHROPIC_STREAM)
    return package.Response(200, json=_ANTHROPIC_MESSAGE)


def _openai_ok(package: Any, request: Any) -> Any:
    body = _body(request)
    if "input" in body:
        return package.Response(200, json=_OPENAI_EMBEDDINGS)
    if body.get("stream"):
        return _event_stream(package, _OPENAI_STREAM)
    return package.Response(200, json=_OPENAI_COMPLETION)


def _gemini_ok(package: Any, request: Any) -> Any:
    if "streamGenerateContent" in request.url.path:
        return _event_stream(package, _GEMINI_STREAM)
    return package.Response(200, json=_GEMINI_ANSWER)


def _fail_with_each_status(call: Callable[[dict[str, str]], object]) -> None:
    """Make ``call`` fail once with each of :data:`ERROR_STATUSES` (the SDK builds each
    status's error class as a real answer would make it)."""
    for status in ERROR_STATUSES:
        with suppress(anthropic.APIStatusError, openai.APIStatusError, genai_errors.APIError):
            call({_STATUS_HEADER: str(status)})


def warm_anthropic() -> None:
    with anthropic.Anthropic(
        api_key="warm-up",
        base_url="http://warm-up.invalid",
        max_retries=0,
        http_client=_http_client(anthropic, _anthropic_ok),
    ) as client:
        client.messages.with_raw_response.create(
            model="warm-up",
            max_tokens=1,
            messages=_MESSAGES,  # type: ignore[arg-type]
        ).parse()
        with client.messages.stream(
            model="warm-up",
            max_tokens=1,
            messages=_MESSAGES,  # type: ignore[arg-type]
        ) as stream:
            for _ in stream:
                pass
            stream.get_final_message()
        _fail_with_each_status(
            lambda headers: client.messages.create(
                model="warm-up",
                max_tokens=1,
                messages=_MESSAGES,  # type: ignore[arg-type]
                extra_headers=headers,
            )
        )


def warm_openai() -> None:
    with openai.OpenAI(
        api_key="warm-up",
        base_url="http://warm-up.invalid/v1",
        max_retries=0,
        http_client=_http_client(openai, _openai_ok),
    ) as client:
        client.chat.completions.with_raw_response.create(
            model="warm-up",
            messages=_MESSAGES,  # type: ignore[arg-type]
        ).parse()
        for _ in client.chat.completions.create(  # type: ignore[call-overload]
            model="warm-up",
            messages=_MESSAGES,
            stream=True,
            stream_options={"include_usage": True},
        ):
            pass
        client.embeddings.with_raw_response.create(model="warm-up", input="warm-up").parse()
        _fail_with_each_status(
            lambda headers: client.chat.completions.create(
                model="warm-up",
                messages=_MESSAGES,  # type: ignore[arg-type]
                extra_headers=headers,
            )
        )


def warm_google() -> None:
    http = httpx.Client(transport=httpx.MockTransport(lambda r: _answer(httpx, r, _gemini_ok)))
    options = genai_types.HttpOptions(
        base_url="http://warm-up.invalid",
        retry_options=genai_types.HttpRetryOptions(attempts=1),
        httpx_client=http,
    )
    config = genai_types.GenerateContentConfig(
        system_instruction="warm-up", max_output_tokens=1, temperature=0
    )
    with http, genai.Client(api_key="warm-up", http_options=options) as client:
        client.models.generate_content(model="warm-up", contents="warm-up", config=config)
        for _ in client.models.generate_content_stream(
            model="warm-up", contents="warm-up", config=config
        ):
            pass
        _fail_with_each_status(
            lambda headers: client.models.generate_content(
                model="warm-up",
                contents="warm-up",
                config=genai_types.GenerateContentConfig(
                    http_options=genai_types.HttpOptions(headers=headers)
                ),
            )
        )


@functools.cache
def warm_sdks() -> None:
    """Run each SDK's first responses now (see the module docstring), once per process:
    what it builds is the process's. A failure is logged and ignored: warming is an
    optimisation, and a service must start without it."""
    for warm in (warm_anthropic, warm_openai, warm_google):
        try:
            warm()
        except Exception:  # the traceback is logged: a changed SDK shows up here
            log.warning("could not warm up %s", warm.__name__, exc_info=True)

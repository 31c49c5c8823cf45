"""Forwarding a provider's SSE stream as bytes, and reading the whole answer from it once.

A stream passed through (see :class:`~agentqueue.core.llm.providers.base.Passthrough`)
costs the gateway one append and one yield per network read: no JSON is parsed while
the caller waits for its tokens. Every byte is kept, and when the stream has ended the
adapter reads them once (:func:`events`, then its protocol's reader here) into the
:class:`Completion` the limiter settles with, the ledger prices and the cache stores.

OpenAI sends the usage only when ``stream_options.include_usage`` is set; the adapter
always sets it, and when the caller did not ask, :func:`forward` cuts that one event out
of what the caller sees (``cut``): then it forwards whole events only, holding back the
unfinished tail of a read until the next one completes it. The opening events, before
the first token, are read and held back (see :func:`forward`), so that fallback stays
possible until the first token, as on the translated path.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx2

from agentqueue.core.base.errors import ProviderError
from agentqueue.core.llm.messages import Completion, TextDelta, ToolCall, Usage

T = TypeVar("T")

#: OpenAI's usage chunk, the one event whose ``choices`` is empty.
OPENAI_USAGE_EVENT = re.compile(rb'"choices":\s*\[\]')
_EVENT_END = re.compile(rb"\r?\n\r?\n")
_EVENT_END_TEXT = re.compile(r"\r?\n\r?\n")


def _cut_event(data: bytes, cut: re.Pattern[bytes]) -> bytes:
    """``data`` (whole events) without the events ``cut`` matches."""
    while (match := cut.search(data)) is not None:
        before = [m.end() for m in _EVENT_END.finditer(data, 0, match.start())]
        start = before[-1] if before else 0
        after = _EVENT_END.search(data, match.end())
        data = data[:start] + (data[after.end() :] if after else b"")
    return data


def _last_event_end(data: bytes) -> int:
    """Where the last whole event of ``data`` ends (0: no event has ended)."""
    lf = data.rfind(b"\n\n")
    crlf = data.rfind(b"\r\n\r\n")
    return max(lf + 2 if lf >= 0 else 0, crlf + 4 if crlf >= 0 else 0)


#: Whether an event (its name and data) carries the answer: ``True`` from the first
#: token (or tool call, or the end) on; raises :class:`StreamError` for an error event.
Opening = Callable[[str | None, str], bool]


async def forward(
    chunks: AsyncIterator[bytes],
    kept: list[bytes],
    *,
    opening: Opening,
    cut: re.Pattern[bytes] | None = None,
) -> AsyncIterator[bytes]:
    """Yield the reads of ``chunks`` as they come, appending each to ``kept``.

    The stream's opening events (OpenAI's role chunk, Anthropic's ``message_start``) are
    held back and read until ``opening`` says the answer has begun: a provider that fails
    before its first token (an error event right after a 200) has then sent the caller
    nothing, and the chain may still fall back, as on the translated path. From then on
    every read is yielded as it is, unread; with ``cut``, as whole events, less those
    matching it (kept all the same)."""
    tail = b""
    held: list[bytes] = []
    begun = False
    async for data in chunks:
        kept.append(data)
        if begun and cut is None:
            yield data
            continue
        data = tail + data
        ends = _last_event_end(data)
        if ends == 0:
            tail = data
            continue
        tail, whole = data[ends:], data[:ends]
        if not begun:
            begun = any(opening(name, event) for name, event in events(whole))
            held.append(whole)
            if not begun:
                continue
            whole, held = b"".join(held), []
        if cut is not None and cut.search(whole) is not None:
            whole = _cut_event(whole, cut)
        if cut is None:  # from here on, reads go as they come
            whole, tail = whole + tail, b""
        if whole:
            yield whole
    rest = b"".join(held) + tail
    if rest:
        yield rest


async def _whole_events(
    chunks: AsyncIterator[bytes], kept: list[bytes]
) -> AsyncIterator[tuple[str | None, str]]:
    """(name, data) of each event as soon as its last byte is read; every read is
    appended to ``kept``. An event split between reads waits for its end, so a
    multi-byte character is never cut."""
    tail = b""
    async for data in chunks:
        kept.append(data)
        data = tail + data
        ends = _last_event_end(data)
        tail, whole = data[ends:], data[:ends]
        for event in events(whole):
            yield event


async def openai_text(chunks: AsyncIterator[bytes], kept: list[bytes]) -> AsyncIterator[TextDelta]:
    """The content deltas of a Chat Completions stream as they come, each read appended
    to ``kept`` (for :func:`openai_answer` at the end); raises :class:`StreamError` for
    an error chunk. One ``json.loads`` per chunk, where the SDK builds a chunk model."""
    async for _, payload in _whole_events(chunks, kept):
        if payload == "[DONE]":
            continue
        chunk = _event(payload)
        if "error" in chunk:
            raise StreamError(chunk)
        for choice in chunk.get("choices") or ():
            if content := (choice.get("delta") or {}).get("content"):
                yield TextDelta(text=content)


async def anthropic_text(
    chunks: AsyncIterator[bytes], kept: list[bytes]
) -> AsyncIterator[TextDelta]:
    """The text of a Messages stream's ``text_delta`` events as they come, each read
    appended to ``kept`` (for :func:`anthropic_answer` at the end); raises
    :class:`StreamError` for an error event. A translated stream needs the text only:
    one ``json.loads`` per delta event, where the SDK's stream helper builds pydantic
    models for every event and a snapshot of the whole message after each."""
    async for name, payload in _whole_events(chunks, kept):
        if name not in (None, "content_block_delta", "error"):
            continue  # named and neither: nothing to read before the end
        event = _event(payload)
        kind = event.get("type", name)
        if kind == "error":
            raise StreamError(event)
        delta = event.get("delta") or {}
        text = delta.get("text") if delta.get("type") == "text_delta" else None
        if kind == "content_block_delta" and text:
            yield TextDelta(text=text)


def stream_failure(
    exc: Exception,
    request: httpx2.Request,
    sdk: Any,
    translate: Callable[[Any, str], ProviderError],
    model: str,
) -> ProviderError:
    """A stream that failed after its 200, as the adapter's error type: the provider's
    error event (``forwarded`` when the caller was sent it) becomes the SDK's
    ``APIError``, a lost connection its ``APIConnectionError`` (both SDKs name them
    alike), then the adapter's ``translate`` as for any SDK error."""
    sdk_error = (
        sdk.APIError(exc.message, request, body=exc.body)
        if isinstance(exc, StreamError)
        else sdk.APIConnectionError(message=str(exc), request=request)
    )
    error = translate(sdk_error, model)
    error.forwarded = isinstance(exc, StreamError) and exc.forwarded
    return error


#: Reads a stream's bytes (appending each read to the list) and yields what it reads.
Reader = Callable[[AsyncIterator[bytes], list[bytes]], AsyncIterator[T]]


async def relay(
    response: httpx2.Response,
    read: Reader[T],
    answer: Callable[[bytes], Completion],
    failed: Callable[[StreamError | httpx2.TransportError | httpx2.StreamError], Exception],
) -> AsyncIterator[T | Completion]:
    """What ``read`` makes of a streamed response as it comes, then ``answer`` of all its
    bytes; the provider's error event or a lost connection raised as ``failed`` makes it
    (the adapter's own error type); the response closed however it ends."""
    kept: list[bytes] = []
    try:
        async for item in read(response.aiter_bytes(), kept):
            yield item
        completion = answer(b"".join(kept))
    except StreamError as exc:  # the provider's error event
        raise failed(exc) from None
    except (httpx2.TransportError, httpx2.StreamError) as exc:
        raise failed(exc) from exc
    finally:
        await response.aclose()
    yield completion


def _event(data: str) -> Any:
    """One event's JSON; a malformed one (some OpenAI-compatible servers) is the
    provider's failure like an error event, never an exception escaping untranslated."""
    try:
        return json.loads(data)
    except ValueError:
        raise StreamError({"error": {"message": "the provider sent a malformed event"}}) from None


def openai_opening(_name: str | None, data: str) -> bool:
    """A Chat Completions chunk with content, a tool call or a finish reason (or the
    end); its error event raises."""
    if data == "[DONE]":
        return True
    chunk = _event(data)
    if "error" in chunk:
        raise StreamError(chunk)
    for choice in chunk.get("choices") or ():
        delta = choice.get("delta") or {}
        if delta.get("content") or delta.get("tool_calls") or choice.get("finish_reason"):
            return True
    return chunk.get("usage") is not None and not chunk.get("choices")


def anthropic_opening(name: str | None, data: str) -> bool:
    """A Messages event past the message's and blocks' starts (a delta, the end); its
    ``error`` event raises."""
    kind = name or _event(data).get("type")
    if kind == "error":
        raise StreamError(_event(data))
    return kind in ("content_block_delta", "message_delta", "message_stop")


def events(raw: bytes) -> Iterator[tuple[str | None, str]]:
    """(event name, data) of each server-sent event in ``raw``; comments skipped."""
    for block in _EVENT_END_TEXT.split(raw.decode("utf-8", "replace")):
        name: str | None = None
        data: list[str] = []
        for line in block.splitlines():
            if line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
            elif line.startswith("event:"):
                name = line[6:].strip()
        if data:
            yield name, "\n".join(data)


def _arguments(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except json.JSONDecodeError:
        return {"_raw": text}
    return value if isinstance(value, dict) else {"_value": value}


@dataclass
class StreamError(Exception):
    """The provider's own error event inside a 200 stream (its body, as sent)."""

    body: dict[str, Any]
    #: Found once the stream had been forwarded (at the end), not while opening it.
    forwarded: bool = False

    @property
    def message(self) -> str:
        error = self.body.get("error", self.body)
        return str(error.get("message", "the provider failed mid-stream"))


@dataclass
class _Calls:
    """Tool calls assembled from their streamed pieces, by index."""

    parts: dict[int, dict[str, str]] = field(default_factory=dict)

    def add(self, index: int, call_id: str | None, name: str | None, args: str | None) -> None:
        part = self.parts.setdefault(index, {"id": "", "name": "", "args": ""})
        part["id"] = call_id or part["id"]
        part["name"] = name or part["name"]
        part["args"] += args or ""

    def calls(self, new_id: Callable[[], str]) -> list[ToolCall]:
        return [
            ToolCall(id=p["id"] or new_id(), name=p["name"], arguments=_arguments(p["args"]))
            for _, p in sorted(self.parts.items())
            if p["name"]
        ]


def openai_answer(raw: bytes, model: str, new_id: Callable[[], str]) -> Completion:
    """The whole answer of a Chat Completions stream; :class:`StreamError` if it failed."""
    text: list[str] = []
    calls = _Calls()
    usage = Usage()
    stop_reason: str | None = None
    for _, data in events(raw):
        if data == "[DONE]":
            break
        chunk = _event(data)
        if "error" in chunk:
            raise StreamError(chunk, forwarded=True)
        model = chunk.get("model") or model
        if u := chunk.get("usage"):
            cached = (u.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
            usage = Usage(
                input_tokens=(u.get("prompt_tokens") or 0) - cached,
                output_tokens=u.get("completion_tokens") or 0,
                cache_read_tokens=cached,
            )
        for choice in chunk.get("choices") or ():
            stop_reason = choice.get("finish_reason") or stop_reason
            delta = choice.get("delta") or {}
            if content := delta.get("content"):
                text.append(content)
            for call in delta.get("tool_calls") or ():
                fn = call.get("function") or {}
                calls.add(call.get("index", 0), call.get("id"), fn.get("name"), fn.get("arguments"))
    return Completion(
        text="".join(text),
        tool_calls=calls.calls(new_id),
        provider="openai",
        model=model,
        usage=usage,
        stop_reason=stop_reason,
    )


def anthropic_answer(raw: bytes, model: str, new_id: Callable[[], str]) -> Completion:
    """The whole answer of a Messages stream; :class:`StreamError` if it failed."""
    text: list[str] = []
    calls = _Calls()
    usage: dict[str, int] = {}
    stop_reason: str | None = None
    stop_sequence: str | None = None
    for name, data in events(raw):
        event = _event(data)
        kind = event.get("type", name)
        if kind == "error":
            raise StreamError(event, forwarded=True)
        if kind == "message_start":
            message = event.get("message") or {}
            model = message.get("model") or model
            usage.update(message.get("usage") or {})
        elif kind == "content_block_start":
            block = event.get("content_block") or {}
            if block.get("type") == "tool_use":
                calls.add(event.get("index", 0), block.get("id"), block.get("name"), None)
            elif block.get("type") == "text" and block.get("text"):
                text.append(block["text"])
        elif kind == "content_block_delta":
            delta = event.get("delta") or {}
            if delta.get("type") == "text_delta":
                text.append(delta.get("text") or "")
            elif delta.get("type") == "input_json_delta":
                calls.add(event.get("index", 0), None, None, delta.get("partial_json"))
        elif kind == "message_delta":
            delta = event.get("delta") or {}
            stop_reason = delta.get("stop_reason") or stop_reason
            stop_sequence = delta.get("stop_sequence") or stop_sequence
            usage.update({k: v for k, v in (event.get("usage") or {}).items() if v is not None})
    return Completion(
        text="".join(text),
        tool_calls=calls.calls(new_id),
        provider="anthropic",
        model=model,
        usage=Usage(
            input_tokens=usage.get("input_tokens") or 0,
            output_tokens=usage.get("output_tokens") or 0,
            cache_read_tokens=usage.get("cache_read_input_tokens") or 0,
            cache_write_tokens=usage.get("cache_creation_input_tokens") or 0,
        ),
        stop_reason=stop_reason,
        stop_sequence=stop_sequence,
    )

"""A core answer as Anthropic's Messages API gives it: whole, or as its stream of events.

The content is a text block (when there is text, or nothing else) followed by one
``tool_use`` block per tool call; ``stop_reason`` is ``tool_use`` when the model called
tools. Streamed, the events are those the ``anthropic`` SDK's ``messages.stream`` helper
accumulates into the same message: ``message_start``; the text block's
``content_block_start``, ``text_delta``\\ s and ``content_block_stop``; per tool call a
``content_block_start`` (``input: {}``), one ``input_json_delta`` carrying the whole
input and a ``content_block_stop``; ``message_delta`` (stop reason, usage);
``message_stop``. The core streams text only and gives tool calls with its final
:class:`Completion`, so tool-use blocks come after the text, each in one piece.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

from agentqueue.core.llm.messages import Completion, TextDelta, Usage
from agentqueue.gateway.compat.anthropic_errors import stream_error_type
from agentqueue.gateway.compat.calls import StartedStream

log = logging.getLogger(__name__)

#: Stop reasons of other providers in Anthropic's words (its own pass through).
_STOP_REASONS = {
    "end_turn": "end_turn",
    "max_tokens": "max_tokens",
    "stop_sequence": "stop_sequence",
    "tool_use": "tool_use",
    "pause_turn": "pause_turn",
    "refusal": "refusal",
    "length": "max_tokens",
    "MAX_TOKENS": "max_tokens",
    "tool_calls": "tool_use",
    "content_filter": "refusal",
    "SAFETY": "refusal",
}


def stop_reason(completion: Completion, stop: Sequence[str]) -> tuple[str, str | None]:
    """(``stop_reason``, ``stop_sequence``) of an answer to a request with ``stop``.

    The sequence is the one the provider says ended the answer (Claude's
    ``stop_sequence``, the core's :attr:`Completion.stop_sequence`); a provider that says
    only that a stop sequence ended it is believed when the request had just one.
    OpenAI and Gemini do not tell a stop sequence from the answer's natural end: their
    answers say ``end_turn``."""
    if completion.tool_calls:
        return "tool_use", None
    if completion.stop_sequence is not None and completion.stop_sequence in stop:
        return "stop_sequence", completion.stop_sequence
    reason = _STOP_REASONS.get(completion.stop_reason or "", "end_turn")
    if reason == "tool_use":  # a provider said tool calls, and none came back
        reason = "end_turn"
    if reason == "stop_sequence":
        return reason, stop[0] if len(stop) == 1 else None
    return reason, None


def usage(u: Usage) -> dict[str, int]:
    return {
        "input_tokens": u.input_tokens,
        "output_tokens": u.output_tokens,
        "cache_creation_input_tokens": u.cache_write_tokens,
        "cache_read_input_tokens": u.cache_read_tokens,
    }


def _tool_use(completion: Completion) -> list[dict[str, Any]]:
    return [
        {"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments}
        for c in completion.tool_calls
    ]


def message(message_id: str, completion: Completion, stop: Sequence[str]) -> dict[str, Any]:
    """The whole answer, as ``messages.create`` returns it."""
    content: list[dict[str, Any]] = []
    if completion.text or not completion.tool_calls:
        content.append({"type": "text", "text": completion.text})
    reason, sequence = stop_reason(completion, stop)
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": completion.model,
        "content": content + _tool_use(completion),
        "stop_reason": reason,
        "stop_sequence": sequence,
        "usage": usage(completion.usage),
    }


def _event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps({'type': name, **data})}\n\n".encode()


def _text_start(index: int) -> bytes:
    return _event(
        "content_block_start", {"index": index, "content_block": {"type": "text", "text": ""}}
    )


def _text_delta(index: int, text: str) -> bytes:
    return _event(
        "content_block_delta", {"index": index, "delta": {"type": "text_delta", "text": text}}
    )


def _stop(index: int) -> bytes:
    return _event("content_block_stop", {"index": index})


def _ending(completion: Completion, stop: Sequence[str], text_open: bool) -> list[bytes]:
    """Everything after the last text delta: the text block's end (or the whole text
    block, when none was streamed), the tool-use blocks, the message's end."""
    out: list[bytes] = []
    index = 0
    if text_open:
        out.append(_stop(0))
        index = 1
    elif completion.text or not completion.tool_calls:
        out += [_text_start(0), _text_delta(0, completion.text), _stop(0)]
        index = 1
    for call in completion.tool_calls:
        block = {"type": "tool_use", "id": call.id, "name": call.name, "input": {}}
        delta = {"type": "input_json_delta", "partial_json": json.dumps(call.arguments)}
        out.append(_event("content_block_start", {"index": index, "content_block": block}))
        out.append(_event("content_block_delta", {"index": index, "delta": delta}))
        out.append(_stop(index))
        index += 1
    reason, sequence = stop_reason(completion, stop)
    out.append(
        _event(
            "message_delta",
            {
                "delta": {"stop_reason": reason, "stop_sequence": sequence},
                "usage": usage(completion.usage),
            },
        )
    )
    out.append(_event("message_stop", {}))
    return out


def stream_error(exc: Exception) -> bytes:
    """A failure after the first byte: the stream ends with Anthropic's ``error`` event."""
    return _event("error", {"error": {"type": stream_error_type(exc), "message": str(exc)}})


async def events(
    message_id: str, model: str, started: StartedStream, stop: Sequence[str]
) -> AsyncIterator[bytes]:
    """The answer's server-sent events. A failure after the first byte ends the stream
    with Anthropic's ``error`` event (the 200 is sent by then)."""
    yield _event(
        "message_start",
        {
            "message": {
                "id": message_id,
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": 0, "output_tokens": 0},
            }
        },
    )
    text_open = False
    try:
        async for event in started.events():
            if isinstance(event, TextDelta):
                if not event.text:
                    continue
                if not text_open:
                    yield _text_start(0)
                    text_open = True
                yield _text_delta(0, event.text)
            else:
                for chunk in _ending(event, stop, text_open):
                    yield chunk
    except Exception as exc:  # after the first byte: end with an error event
        log.warning("stream %s failed after its first byte: %s", message_id, exc)
        yield stream_error(exc)
    finally:
        await started.aclose()

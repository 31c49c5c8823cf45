"""A core :class:`Completion` as Chat Completions answers it: the whole ``chat.completion``
object, or the ``chat.completion.chunk`` events of a stream.

Tool calls come back as OpenAI shapes them — ``message.tool_calls[{id, type: "function",
function: {name, arguments}}]`` with ``arguments`` a JSON string, ``content: null`` when
the model said nothing else, and ``finish_reason: "tool_calls"``. A stream sends its text
deltas first, then each tool call whole in one delta (its ``index``, ``id``, name and
arguments): the core streams text only and hands over tool calls with the final answer,
and every SDK accumulates a call sent in one piece just as one sent in many.
"""

from __future__ import annotations

import json
from typing import Any

from agentqueue.core.llm.messages import Completion, ToolCall, Usage
from agentqueue.gateway.compat.calls import finish_reason


def usage(u: Usage) -> dict[str, Any]:
    prompt = u.input_tokens + u.cache_read_tokens + u.cache_write_tokens
    return {
        "prompt_tokens": prompt,
        "completion_tokens": u.output_tokens,
        "total_tokens": prompt + u.output_tokens,
        "prompt_tokens_details": {"cached_tokens": u.cache_read_tokens},
    }


def finish(completion: Completion) -> str:
    """``tool_calls`` when the model called tools, else the provider's reason in OpenAI's
    words (``length`` for a cut answer, ``stop`` otherwise)."""
    if completion.tool_calls:
        return "tool_calls"
    return finish_reason(completion.stop_reason)


def tool_call(call: ToolCall) -> dict[str, Any]:
    return {
        "id": call.id,
        "type": "function",
        "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
    }


def whole(call_id: str, created: int, completion: Completion) -> dict[str, Any]:
    message: dict[str, Any] = {
        "role": "assistant",
        "content": completion.text or None,
        "refusal": None,
        "annotations": [],
    }
    if completion.tool_calls:
        message["tool_calls"] = [tool_call(c) for c in completion.tool_calls]
    return {
        "id": call_id,
        "object": "chat.completion",
        "created": created,
        "model": completion.model,
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": finish(completion)}
        ],
        "usage": usage(completion.usage),
        "system_fingerprint": None,
    }


class Chunks:
    """The SSE events of one streamed answer, all with the same id, time and model."""

    def __init__(self, call_id: str, created: int, model: str) -> None:
        self.call_id = call_id
        self.created = created
        self.model = model

    def _event(self, choices: list[dict[str, Any]], **extra: Any) -> bytes:
        data = {
            "id": self.call_id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": choices,
            **extra,
        }
        return f"data: {json.dumps(data)}\n\n".encode()

    def delta(self, delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        return self._event(
            [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]
        )

    def ending(self, completion: Completion, include_usage: bool) -> list[bytes]:
        """After the text: the tool calls, the finish reason, and usage if asked for."""
        self.model = completion.model
        events = [
            self.delta({"tool_calls": [{"index": j, **tool_call(c)}]})
            for j, c in enumerate(completion.tool_calls)
        ]
        events.append(self.delta({}, finish(completion)))
        if include_usage:
            events.append(self._event([], usage=usage(completion.usage)))
        return events


def stream_error(message: str) -> bytes:
    """A failure after the first byte: the stream ends with OpenAI's error event."""
    error = {"message": message, "type": "server_error", "param": None, "code": None}
    return f"data: {json.dumps({'error': error})}\n\n".encode()

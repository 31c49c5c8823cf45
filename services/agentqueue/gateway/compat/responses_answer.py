"""A core :class:`Completion` as the Responses API answers it: the whole ``response``
object, or the typed SSE events of a stream.

The answer's ``output`` is a ``message`` item with one ``output_text`` part (left out when
the model only called tools), then one ``function_call`` item per tool call, its
``arguments`` a JSON string and its ``call_id`` the provider's call id (what the caller's
``function_call_output`` answers). A cut answer is ``status: "incomplete"`` with
``incomplete_details.reason: "max_output_tokens"``. The response echoes the request's
settings (``tools``, ``tool_choice``, ``text``, …) as OpenAI's does, with ``store: false``:
nothing is kept.

A stream sends ``response.created`` and ``response.in_progress``, the message's events
(item added, part added, text deltas, text done, part done, item done), then each function
call whole (item added, one arguments delta, arguments done, item done) — the core streams
text and hands over tool calls with the final answer — and ends with
``response.completed`` (``response.incomplete`` for a cut answer, as OpenAI ends it)
carrying the whole response. Every event has its ``sequence_number``. A provider failure
after the first byte ends the stream with ``response.failed`` (status ``failed``,
``error.code: "server_error"``), which the Agents SDK raises as a model error.
"""

from __future__ import annotations

import json
from typing import Any

from agentqueue.core.base.ids import random_id
from agentqueue.core.llm.messages import Completion, ToolCall, Usage
from agentqueue.gateway.compat.calls import finish_reason
from agentqueue.gateway.compat.responses_body import FunctionTool, NamedFunction, ResponsesBody


def new_id(prefix: str) -> str:
    return f"{prefix}_{random_id()}"


def usage(u: Usage) -> dict[str, Any]:
    prompt = u.input_tokens + u.cache_read_tokens + u.cache_write_tokens
    return {
        "input_tokens": prompt,
        "input_tokens_details": {
            "cached_tokens": u.cache_read_tokens,
            "cache_write_tokens": u.cache_write_tokens,
        },
        "output_tokens": u.output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": prompt + u.output_tokens,
    }


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def message_item(item_id: str, text: str | None, status: str) -> dict[str, Any]:
    """The answer's message; ``text`` None: just added, no part yet."""
    return {
        "type": "message",
        "id": item_id,
        "status": status,
        "role": "assistant",
        "content": [] if text is None else [_text_part(text)],
    }


def call_item(item_id: str, call: ToolCall, arguments: str, status: str) -> dict[str, Any]:
    return {
        "type": "function_call",
        "id": item_id,
        "call_id": call.id,
        "name": call.name,
        "arguments": arguments,
        "status": status,
    }


class Answer:
    """One response: its id, creation time, the request's echoed settings, and the ids of
    its output items, the same in every event of a stream and in the final response."""

    def __init__(self, created_at: int, model: str, echo: dict[str, Any]) -> None:
        self.id = new_id("resp")
        self.created_at = created_at
        self.model = model
        self.echo = echo
        self.message_id = new_id("msg")
        self.call_ids: dict[str, str] = {}  # provider call id → fc_ item id

    def call_id(self, call: ToolCall) -> str:
        return self.call_ids.setdefault(call.id, new_id("fc"))

    def response(
        self,
        status: str,
        output: list[dict[str, Any]],
        completion: Completion | None = None,
        error: str | None = None,
    ) -> dict[str, Any]:
        incomplete = status == "incomplete"
        return {
            "id": self.id,
            "object": "response",
            "created_at": self.created_at,
            "status": status,
            "background": False,
            "error": {"code": "server_error", "message": error} if error is not None else None,
            "incomplete_details": {"reason": "max_output_tokens"} if incomplete else None,
            "model": completion.model if completion else self.model,
            "output": output,
            "previous_response_id": None,
            "store": False,
            "usage": usage(completion.usage) if completion else None,
            **self.echo,
        }

    def output(
        self, completion: Completion, message_sent: bool = False
    ) -> tuple[str, list[dict[str, Any]]]:
        """The final status and output items; the message is there when the model said
        something, called no tool, or a stream has already opened it."""
        cut = finish_reason(completion.stop_reason) == "length"
        status = "incomplete" if cut else "completed"
        items: list[dict[str, Any]] = []
        if completion.text or not completion.tool_calls or message_sent:
            items.append(message_item(self.message_id, completion.text, status))
        items += [
            call_item(self.call_id(c), c, json.dumps(c.arguments), "completed")
            for c in completion.tool_calls
        ]
        return status, items

    def whole(self, completion: Completion) -> dict[str, Any]:
        status, items = self.output(completion)
        return self.response(status, items, completion)


class Events:
    """The SSE events of one streamed response, numbered in order."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.sequence = 0
        self.text: list[str] | None = None  # the message's text so far, once it is open

    def event(self, kind: str, **data: Any) -> bytes:
        payload = {"type": kind, "sequence_number": self.sequence, **data}
        self.sequence += 1
        return f"event: {kind}\ndata: {json.dumps(payload)}\n\n".encode()

    def start(self) -> list[bytes]:
        response = self.answer.response("in_progress", [])
        return [
            self.event("response.created", response=response),
            self.event("response.in_progress", response=response),
        ]

    def _open_message(self) -> list[bytes]:
        self.text = []
        item_id = self.answer.message_id
        return [
            self.event(
                "response.output_item.added",
                output_index=0,
                item=message_item(item_id, None, "in_progress"),
            ),
            self.event(
                "response.content_part.added",
                item_id=item_id,
                output_index=0,
                content_index=0,
                part=_text_part(""),
            ),
        ]

    def delta(self, text: str) -> list[bytes]:
        events = self._open_message() if self.text is None else []
        assert self.text is not None
        self.text.append(text)
        events.append(
            self.event(
                "response.output_text.delta",
                item_id=self.answer.message_id,
                output_index=0,
                content_index=0,
                delta=text,
                logprobs=[],
            )
        )
        return events

    def ending(self, completion: Completion) -> list[bytes]:
        """After the text: the message closed, each function call, the whole response."""
        status, items = self.answer.output(completion, message_sent=self.text is not None)
        events: list[bytes] = []
        if items and items[0]["type"] == "message":
            if self.text is None:
                events += self._open_message()
            if completion.text and not self.text:  # a whole answer (a cache hit, say)
                events += self.delta(completion.text)
            item_id = self.answer.message_id
            where = {"item_id": item_id, "output_index": 0, "content_index": 0}
            events += [
                self.event("response.output_text.done", **where, text=completion.text, logprobs=[]),
                self.event("response.content_part.done", **where, part=_text_part(completion.text)),
                self.event("response.output_item.done", output_index=0, item=items[0]),
            ]
        for index, item in enumerate(items):
            if item["type"] != "function_call":
                continue
            added = {**item, "arguments": "", "status": "in_progress"}
            where = {"item_id": item["id"], "output_index": index}
            events += [
                self.event("response.output_item.added", output_index=index, item=added),
                self.event(
                    "response.function_call_arguments.delta", **where, delta=item["arguments"]
                ),
                self.event(
                    "response.function_call_arguments.done",
                    **where,
                    name=item["name"],
                    arguments=item["arguments"],
                ),
                self.event("response.output_item.done", output_index=index, item=item),
            ]
        kind = "response.incomplete" if status == "incomplete" else "response.completed"
        events.append(self.event(kind, response=self.answer.response(status, items, completion)))
        return events

    def failed(self, message: str) -> bytes:
        """A failure after the first byte: the text so far, and the error."""
        output = []
        if self.text is not None:
            output.append(message_item(self.answer.message_id, "".join(self.text), "incomplete"))
        return self.event(
            "response.failed", response=self.answer.response("failed", output, error=message)
        )


def settings(body: ResponsesBody) -> dict[str, Any]:
    """What the response echoes of its request, as OpenAI's does (required by the SDK's
    ``Response``: ``tools``, ``tool_choice``, ``parallel_tool_calls``)."""
    choice = body.tool_choice
    text = body.text.model_dump(by_alias=True, exclude_none=True) if body.text else {}
    return {
        "instructions": body.instructions,
        "max_output_tokens": body.max_output_tokens,
        "metadata": body.metadata or {},
        "parallel_tool_calls": body.parallel_tool_calls is not False,
        "reasoning": body.reasoning.model_dump() if body.reasoning else None,
        "temperature": body.temperature,
        "text": {"format": {"type": "text"}, **text},
        "tool_choice": choice.model_dump()
        if isinstance(choice, NamedFunction)
        else choice or "auto",
        "tools": [
            t.model_dump(exclude_none=True) for t in body.tools or [] if isinstance(t, FunctionTool)
        ],
        "top_p": body.top_p if body.top_p is not None else 1.0,
        "truncation": body.truncation or "disabled",
        "user": body.user,
    }

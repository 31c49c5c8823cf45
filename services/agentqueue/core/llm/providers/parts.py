"""What the three adapters share when they translate tool calls, images and JSON formats.

Each provider spells a conversation's parts its own way, but a few decisions are the same
everywhere and are made here once: which tool a result answers (Gemini needs the name,
our :class:`ToolResult` may only carry the call's id), how an image becomes a URL or
inline bytes, and what a JSON response format looks like when it has to travel as a
forced tool (Anthropic) or a schema (OpenAI, Gemini).
"""

from __future__ import annotations

import binascii
import re
from base64 import b64decode
from collections.abc import Iterable
from typing import Any

from agentqueue.core.base.errors import BadRequest
from agentqueue.core.base.ids import random_id
from agentqueue.core.llm.messages import (
    ChatMessage,
    ImagePart,
    ResponseFormat,
    ToolResult,
    ToolSpec,
)

_DATA_URL = re.compile(r"^data:(?P<type>[\w.+-]+/[\w.+-]+)(?:;[^,;]*)*;base64,(?P<data>.*)$", re.S)


def tool_names_by_id(messages: Iterable[ChatMessage]) -> dict[str, str]:
    """Every tool call's name by its id, over the conversation's assistant turns."""
    return {call.id: call.name for m in messages for call in m.tool_calls}


def tool_result_name(
    result: ToolResult, names: dict[str, str], *, provider: str, model: str
) -> str:
    """The name of the tool ``result`` answers: its own, or its call's in the conversation.

    A result whose call is nowhere in the conversation and that names no tool cannot be
    sent where the name is required: that is the request's fault (:class:`BadRequest`).
    """
    name = result.name or names.get(result.tool_call_id)
    if name is None:
        raise BadRequest(
            f"tool result {result.tool_call_id!r} answers no tool call of the conversation "
            "and names no tool",
            provider=provider,
            model=model,
        )
    return name


def image_url(image: ImagePart) -> str:
    """The image as one URL: its own, or a ``data:`` URL of its inline bytes (OpenAI)."""
    if image.url is not None:
        return image.url
    return f"data:{image.media_type};base64,{image.data}"


def inline_image(image: ImagePart) -> tuple[str, str] | None:
    """``(media_type, base64 data)`` when the image's bytes travel in the request: inline
    data, or a ``data:`` URL (providers that fetch URLs cannot fetch those); else None."""
    if image.data is not None:
        return str(image.media_type), image.data
    match = _DATA_URL.match(image.url or "")
    if match is None:
        return None
    return match["type"], match["data"]


def image_bytes(image: ImagePart, *, provider: str, model: str) -> tuple[str, bytes] | None:
    """Like :func:`inline_image`, decoded (Gemini's SDK takes bytes); bad base64 is a
    :class:`BadRequest`."""
    inline = inline_image(image)
    if inline is None:
        return None
    media_type, data = inline
    try:
        return media_type, b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadRequest(
            f"an image's data is not valid base64: {exc}", provider=provider, model=model
        ) from exc


def wants_json(response_format: ResponseFormat | None) -> bool:
    """Whether the answer's text must be JSON (a ``text`` format asks nothing)."""
    return response_format is not None and response_format.type != "text"


def format_schema(response_format: ResponseFormat) -> dict[str, Any]:
    """The JSON schema the answer must validate against (any object for ``json_object``)."""
    return response_format.json_schema or {"type": "object"}


def format_tool(response_format: ResponseFormat) -> ToolSpec:
    """The tool a JSON response format becomes where it must be emulated: named after the
    format, its input schema the format's, so that the forced call's input is the answer."""
    return ToolSpec(
        name=response_format.name,
        description="Give the answer by calling this tool: its input is the whole answer.",
        input_schema=format_schema(response_format),
    )


def new_call_id() -> str:
    """An id for a tool call the provider gave none (Gemini): ``call_<hex>``."""
    return f"call_{random_id()[:24]}"

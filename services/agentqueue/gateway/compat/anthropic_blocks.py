"""The content blocks of Anthropic's Messages API, and one turn of them as the core's.

Agent frameworks send a conversation as blocks: text, images, the assistant's
``tool_use`` calls and the user's ``tool_result`` answers, and the assistant's own
``thinking``. Each becomes a part of a :class:`~agentqueue.core.llm.messages.ChatMessage`
(text, ``images``, ``tool_calls``, ``tool_results``); what cannot be carried is refused
with 400 naming the block rather than dropped, except ``thinking`` and
``redacted_thinking``, which are the provider's own record of its reasoning (signed for
Anthropic, meaningless to any other provider) and are dropped from what is sent on.

Refused: ``document`` blocks (PDF and text documents: the core has no document part;
send a text document's text as a text block), images inside a ``tool_result`` (a core
tool result is text), file and server-tool blocks. ``cache_control`` is accepted on every
block and ignored: prompt caching is decided by agentqueue's adapters.

Union members are tagged ``~name`` so that a validation error's path names the field
(``body.messages.0.content.1.source``), not the union member it was tried against.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator
from pydantic_core import PydanticCustomError

from agentqueue.gateway.api.errors import InvalidField


class CacheControl(BaseModel):
    """Accepted wherever Anthropic takes it; prompt caching is decided by agentqueue."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["ephemeral"]
    ttl: Literal["5m", "1h"] | None = None


class TextBlock(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["text"]
    text: str = Field(max_length=2_000_000)
    cache_control: CacheControl | None = None
    #: Citations on replayed assistant text: references, not content; not sent on.
    citations: list[dict[str, Any]] | None = None


class ImageSource(BaseModel):
    """Inline base64 (``media_type``, ``data``) or by ``url``."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["base64", "url"]
    media_type: Literal["image/jpeg", "image/png", "image/gif", "image/webp"] | None = None
    data: str | None = Field(default=None, max_length=30_000_000)
    url: str | None = Field(default=None, max_length=30_000_000)

    @model_validator(mode="after")
    def _fields_of_its_type(self) -> ImageSource:
        if self.type == "base64" and (self.data is None or self.media_type is None or self.url):
            raise PydanticCustomError(
                "image_source", "a base64 image source has media_type and data (no url)"
            )
        if self.type == "url" and (self.url is None or self.data is not None):
            raise PydanticCustomError("image_source", "a url image source has url (no data)")
        return self


class ImageBlock(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["image"]
    source: ImageSource
    cache_control: CacheControl | None = None


class ToolUseBlock(BaseModel):
    """A tool call the assistant made (assistant turns only)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["tool_use"]
    id: str = Field(min_length=1, max_length=256)
    name: str = Field(min_length=1, max_length=128)
    input: dict[str, Any]
    cache_control: CacheControl | None = None


def _str_or_list(value: Any) -> str | None:
    if isinstance(value, str):
        return "~str"
    return "~list" if isinstance(value, list) else None


def _text_or_image(value: Any) -> str | None:
    kind = value.get("type") if isinstance(value, Mapping) else getattr(value, "type", None)
    return f"~{kind}" if kind in ("text", "image") else "~unsupported"


class UnsupportedBlock(BaseModel):
    """Any block type not served here: refused naming its type."""

    model_config = ConfigDict(extra="allow")

    type: str = ""  # never validates: see _refuse

    @model_validator(mode="before")
    @classmethod
    def _refuse(cls, value: Any) -> Any:
        kind = value.get("type") if isinstance(value, Mapping) else None
        if kind == "document":
            raise PydanticCustomError(
                "unsupported_block",
                "document blocks (PDF or text documents) are not supported; send a "
                "document's text as a text block",
            )
        if kind is None:
            raise PydanticCustomError("missing_block_type", "a content block needs its type")
        raise PydanticCustomError(
            "unsupported_block",
            "content blocks of type '{kind}' are not supported here (served: text, image, "
            "tool_use, tool_result, thinking, redacted_thinking)",
            {"kind": kind},
        )


ResultPart = Annotated[
    Annotated[TextBlock, Tag("~text")]
    | Annotated[ImageBlock, Tag("~image")]
    | Annotated[UnsupportedBlock, Tag("~unsupported")],
    Discriminator(_text_or_image),
]


class ToolResultBlock(BaseModel):
    """What the caller's tool returned (user turns only). Its content is text: a string
    or text blocks; an image inside a tool result is refused (a core result is text)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["tool_result"]
    tool_use_id: str = Field(min_length=1, max_length=256)
    content: (
        Annotated[
            Annotated[str, Tag("~str")] | Annotated[list[ResultPart], Tag("~list")],
            Discriminator(_str_or_list),
        ]
        | None
    ) = None
    is_error: bool = False
    cache_control: CacheControl | None = None

    def text(self, where: str) -> str:
        if self.content is None or isinstance(self.content, str):
            return self.content or ""
        for j, part in enumerate(self.content):
            if isinstance(part, ImageBlock):
                raise InvalidField(
                    f"{where}.content.{j}",
                    "images inside a tool_result are not supported; put the image in a "
                    "separate image block of the user turn",
                )
        return "".join(p.text for p in self.content if isinstance(p, TextBlock))


class ThinkingBlock(BaseModel):
    """The assistant's reasoning, replayed: the provider's own, dropped (see module)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["thinking"]
    thinking: str
    signature: str | None = None


class RedactedThinkingBlock(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["redacted_thinking"]
    data: str


_BLOCK_TYPES = ("text", "image", "tool_use", "tool_result", "thinking", "redacted_thinking")


def _block_type(value: Any) -> str:
    kind = value.get("type") if isinstance(value, Mapping) else getattr(value, "type", None)
    return f"~{kind}" if kind in _BLOCK_TYPES else "~unsupported"


Block = Annotated[
    Annotated[TextBlock, Tag("~text")]
    | Annotated[ImageBlock, Tag("~image")]
    | Annotated[ToolUseBlock, Tag("~tool_use")]
    | Annotated[ToolResultBlock, Tag("~tool_result")]
    | Annotated[ThinkingBlock, Tag("~thinking")]
    | Annotated[RedactedThinkingBlock, Tag("~redacted_thinking")]
    | Annotated[UnsupportedBlock, Tag("~unsupported")],
    Discriminator(_block_type),
]

#: A message's content: a string, or a list of blocks.
Content = Annotated[
    Annotated[str, Tag("~str")] | Annotated[list[Block], Tag("~list")],
    Discriminator(
        _str_or_list,
        custom_error_type="content_type",
        custom_error_message="content is a string or a list of content blocks",
    ),
]

#: A system prompt: a string or text blocks.
SystemContent = Annotated[
    Annotated[str, Tag("~str")] | Annotated[list[TextBlock], Tag("~list")],
    Discriminator(
        _str_or_list,
        custom_error_type="content_type",
        custom_error_message="system is a string or a list of text blocks",
    ),
]


class AnthropicMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["user", "assistant"]
    content: Content


_ROLE_OF = {"tool_use": "assistant", "thinking": "assistant", "redacted_thinking": "assistant"}
_ROLE_OF |= {"image": "user", "tool_result": "user"}


def system_text(system: str | list[TextBlock] | None) -> str | None:
    """The system prompt as the core's one string; empty text blocks are refused."""
    if system is None or isinstance(system, str):
        return system or None
    for j, block in enumerate(system):
        if not block.text:
            raise InvalidField(f"body.system.{j}.text", "text content blocks must be non-empty")
    return "".join(b.text for b in system) or None


def turn_fields(
    i: int, message: AnthropicMessage, tool_names: dict[str, str]
) -> dict[str, Any] | None:
    """The :class:`ChatMessage` fields of ``body.messages[i]``; None for an assistant turn
    of thinking only (nothing of it is sent on). ``tool_names`` maps the tool calls seen
    so far to their tools (a tool result names its tool for providers that need it) and
    learns this turn's calls."""
    where = f"body.messages.{i}.content"
    if isinstance(message.content, str):
        return {"role": message.role, "content": message.content}
    texts: list[str] = []
    fields: dict[str, Any] = {"tool_calls": [], "tool_results": [], "images": []}
    dropped = False
    for j, block in enumerate(message.content):
        role = _ROLE_OF.get(block.type)
        if role is not None and role != message.role:
            raise InvalidField(f"{where}.{j}", f"{block.type} blocks belong to {role} turns")
        if isinstance(block, TextBlock):
            if not block.text:
                raise InvalidField(f"{where}.{j}.text", "text content blocks must be non-empty")
            texts.append(block.text)
        elif isinstance(block, ImageBlock):
            source = block.source
            fields["images"].append(
                {"url": source.url}
                if source.type == "url"
                else {"media_type": source.media_type, "data": source.data}
            )
        elif isinstance(block, ToolUseBlock):
            tool_names[block.id] = block.name
            fields["tool_calls"].append(
                {"id": block.id, "name": block.name, "arguments": block.input}
            )
        elif isinstance(block, ToolResultBlock):
            fields["tool_results"].append(
                {
                    "tool_call_id": block.tool_use_id,
                    "content": block.text(f"{where}.{j}"),
                    "is_error": block.is_error,
                    "name": tool_names.get(block.tool_use_id),
                }
            )
        else:  # thinking, redacted_thinking: the provider's own reasoning, not sent on
            dropped = True
    if dropped and not texts and not fields["tool_calls"]:
        return None
    return {"role": message.role, "content": "".join(texts), **fields}

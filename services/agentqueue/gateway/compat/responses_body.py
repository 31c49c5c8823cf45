"""The Responses API's request body (``POST /v1/responses``), as pydantic models: every
parameter the API defines is declared, so anything else is refused by name. What each is
turned into, or why it is refused, is :mod:`responses_request`'s business."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, StrictBool, Tag


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Unmodelled(BaseModel):
    """Something we refuse by its ``type``; its other fields are not looked at."""

    model_config = ConfigDict(extra="allow")

    type: str


class InputText(_Strict):
    type: Literal["input_text"]
    text: str


class OutputText(_Strict):
    """An earlier answer's text, as the SDKs replay it."""

    type: Literal["output_text"]
    text: str
    annotations: list[Any] | None = None
    logprobs: list[Any] | None = None


class Refusal(_Strict):
    type: Literal["refusal"]
    refusal: str


class InputImage(_Strict):
    type: Literal["input_image"]
    image_url: str | None = None
    #: An uploaded file: refused (the gateway stores no files).
    file_id: str | None = None
    #: Accepted; providers choose the resolution themselves.
    detail: Literal["auto", "low", "high", "original"] | None = None


class OtherPart(Unmodelled):
    type: Literal["input_file", "input_audio"]


Part = Annotated[
    InputText | OutputText | Refusal | InputImage | OtherPart, Field(discriminator="type")
]


class MessageItem(_Strict):
    type: Literal["message"] = "message"
    role: Literal["user", "assistant", "system", "developer"]
    content: str | list[Part]
    id: str | None = None
    status: str | None = None
    phase: str | None = None


class FunctionCallItem(_Strict):
    type: Literal["function_call"]
    call_id: str = Field(min_length=1, max_length=256)
    name: str
    #: A JSON object, as a string.
    arguments: str
    id: str | None = None
    status: str | None = None
    namespace: str | None = None


class FunctionCallOutputItem(_Strict):
    type: Literal["function_call_output"]
    call_id: str = Field(min_length=1, max_length=256)
    output: str | list[Part]
    id: str | None = None
    status: str | None = None


class ReasoningItem(Unmodelled):
    """A model's reasoning, replayed: dropped (see the module docstring)."""

    type: Literal["reasoning"]


def _item_kind(value: Any) -> str:
    kind = value.get("type", "message") if isinstance(value, dict) else "message"
    known = ("message", "function_call", "function_call_output", "reasoning")
    return kind if kind in known else "other"


InputItem = Annotated[
    Annotated[MessageItem, Tag("message")]
    | Annotated[FunctionCallItem, Tag("function_call")]
    | Annotated[FunctionCallOutputItem, Tag("function_call_output")]
    | Annotated[ReasoningItem, Tag("reasoning")]
    | Annotated[Unmodelled, Tag("other")],
    Discriminator(_item_kind),
]


class FunctionTool(_Strict):
    type: Literal["function"]
    name: str
    description: str | None = None
    #: A JSON schema of the arguments (default: an object with no properties).
    parameters: dict[str, Any] | None = None
    #: Accepted: arguments always come back as the JSON object the provider produced.
    strict: bool | None = None


def _tool_kind(value: Any) -> str:
    # Capitalised tags: openai_param leaves them out of an error's param.
    return "Function" if isinstance(value, dict) and value.get("type") == "function" else "Builtin"


Tool = Annotated[
    Annotated[FunctionTool, Tag("Function")] | Annotated[Unmodelled, Tag("Builtin")],
    Discriminator(_tool_kind),
]


class NamedFunction(_Strict):
    type: Literal["function"]
    name: str


class TextFormat(_Strict):
    type: Literal["text", "json_object", "json_schema"]
    name: str | None = None
    description: str | None = None
    #: OpenAI's field name; ``schema`` shadows a BaseModel attribute in pydantic.
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    strict: bool | None = None

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class TextConfig(_Strict):
    format: TextFormat | None = None
    #: Accepted hint (no core field).
    verbosity: Literal["low", "medium", "high"] | None = None


class Reasoning(_Strict):
    """Accepted, not passed on: the core request has no field for it."""

    effort: Literal["none", "minimal", "low", "medium", "high", "xhigh"] | None = None
    summary: Literal["auto", "concise", "detailed"] | None = None
    generate_summary: Literal["auto", "concise", "detailed"] | None = None


class StreamOptions(_Strict):
    include_obfuscation: StrictBool | None = None


class ResponsesBody(_Strict):
    """Every parameter of ``POST /v1/responses``; the module docstring says what each does."""

    model: str = Field(min_length=1, max_length=200)
    #: A string is one user message (the core limits its length, as any message's).
    input: str | Annotated[list[InputItem], Field(max_length=10_000)]
    instructions: str | None = None
    tools: list[Tool] | None = Field(default=None, max_length=128)
    tool_choice: Literal["auto", "none", "required"] | NamedFunction | Unmodelled | None = None
    parallel_tool_calls: StrictBool | None = None
    max_output_tokens: int | None = Field(default=None, ge=1, le=200_000)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    text: TextConfig | None = None
    stream: StrictBool = False
    stream_options: StreamOptions | None = None
    # Accepted, no effect on the answer.
    store: bool | None = None
    metadata: dict[str, str] | None = None
    user: str | None = Field(default=None, max_length=256)
    reasoning: Reasoning | None = None
    truncation: Literal["auto", "disabled"] | None = None
    include: list[str] | None = None
    service_tier: str | None = None
    prompt_cache_key: str | None = None
    prompt_cache_retention: str | None = None
    prompt_cache_options: dict[str, Any] | None = None
    safety_identifier: str | None = None
    max_tool_calls: int | None = Field(default=None, ge=1)
    background: bool | None = None
    # Refused unless at their neutral value.
    top_p: float | None = Field(default=None, ge=0.0, le=1.0)
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    # State the gateway does not keep: refused by name.
    previous_response_id: str | None = None
    conversation: str | dict[str, Any] | None = None
    prompt: dict[str, Any] | None = None
    context_management: list[dict[str, Any]] | None = None

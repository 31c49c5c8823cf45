"""The body of ``POST /v1/chat/completions``: the Chat Completions surface agent
frameworks send, as pydantic models.

Every parameter OpenAI documents is declared here, so that a misspelt or unknown one is
refused by name (400, ``Unrecognized request argument supplied: …``) and none is dropped
silently. Declared is not the same as served: what is accepted, ignored or refused is
decided in :mod:`~agentqueue.gateway.compat.openai_request`, whose docstring lists it.
Models are lenient where OpenAI is (a ``null`` where a value may be omitted) and
``extra="forbid"`` everywhere else.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TextPart(_Strict):
    type: Literal["text"]
    text: str


class ImageURL(_Strict):
    url: str = Field(min_length=1)
    #: Accepted; providers choose the resolution themselves.
    detail: Literal["auto", "low", "high"] | None = None


class ImagePartBody(_Strict):
    type: Literal["image_url"]
    image_url: ImageURL


class RefusalPart(_Strict):
    type: Literal["refusal"]
    refusal: str


class OtherPart(BaseModel):
    """A content part we do not serve (``input_audio``, ``file``): refused by name."""

    model_config = ConfigDict(extra="allow")

    type: Literal["input_audio", "file"]


UserPart = Annotated[TextPart | ImagePartBody | OtherPart, Field(discriminator="type")]
AssistantPart = Annotated[TextPart | RefusalPart, Field(discriminator="type")]


class FunctionCall(_Strict):
    name: str
    #: A JSON object, as a string (``""`` is read as ``{}``).
    arguments: str = ""


class ToolCallBody(_Strict):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class SystemMessage(_Strict):
    role: Literal["system", "developer"]
    content: str | list[TextPart]
    name: str | None = None


class UserMessage(_Strict):
    role: Literal["user"]
    content: str | list[UserPart]
    #: A participant's name: accepted, not passed on (no provider but OpenAI has it).
    name: str | None = None


class AssistantMessage(_Strict):
    role: Literal["assistant"]
    content: str | list[AssistantPart] | None = None
    tool_calls: list[ToolCallBody] | None = Field(default=None, max_length=128)
    refusal: str | None = None
    name: str | None = None
    #: Audio answers are not served; a non-null value is refused by name.
    audio: dict[str, Any] | None = None
    #: The deprecated ``functions`` protocol: refused by name (use ``tool_calls``).
    function_call: dict[str, Any] | None = None


class ToolMessage(_Strict):
    role: Literal["tool"]
    tool_call_id: str = Field(min_length=1, max_length=256)
    content: str | list[TextPart]


class FunctionMessage(BaseModel):
    """The deprecated ``function`` role: refused by name (use ``tool`` messages)."""

    model_config = ConfigDict(extra="allow")

    role: Literal["function"]


Message = Annotated[
    SystemMessage | UserMessage | AssistantMessage | ToolMessage | FunctionMessage,
    Field(discriminator="role"),
]


class FunctionSpec(_Strict):
    name: str
    description: str | None = None
    #: A JSON schema of the arguments (OpenAI's default: an object with no properties).
    parameters: dict[str, Any] | None = None
    #: Accepted: the gateway's answers carry arguments parsed as JSON objects either way.
    strict: bool | None = None


class ToolBody(_Strict):
    type: Literal["function"]
    function: FunctionSpec


class NamedFunction(_Strict):
    name: str


class NamedToolChoice(_Strict):
    type: Literal["function"]
    function: NamedFunction


class JSONSchemaFormat(_Strict):
    name: str
    description: str | None = None
    #: OpenAI's field name; ``schema`` shadows a BaseModel attribute in pydantic.
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    strict: bool | None = None

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ResponseFormatBody(_Strict):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JSONSchemaFormat | None = None


class StreamOptions(_Strict):
    include_usage: StrictBool = False
    #: Padding against length side channels; our chunks carry none (accepted, no effect).
    include_obfuscation: StrictBool | None = None


class ChatCompletionBody(_Strict):
    """Every parameter of Chat Completions; see :mod:`openai_request` for what each does."""

    model: str = Field(min_length=1, max_length=200)
    messages: list[Message] = Field(min_length=1, max_length=10_000)
    max_completion_tokens: int | None = Field(default=None, ge=1, le=200_000)
    max_tokens: int | None = Field(default=None, ge=1, le=200_000)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    stream: StrictBool = False
    stream_options: StreamOptions | None = None
    tools: list[ToolBody] | None = Field(default=None, max_length=128)
    tool_choice: Literal["auto", "none", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: StrictBool | None = None
    response_format: ResponseFormatBody | None = None
    stop: str | list[str] | None = None
    seed: int | None = Field(default=None, ge=-(2**63), le=2**63 - 1)
    n: int | None = Field(default=None, ge=1, le=128)
    user: str | None = Field(default=None, max_length=256)
    metadata: dict[str, str] | None = None
    store: bool | None = None
    # Hints the gateway cannot pass on (no core field); accepted, see openai_request.
    reasoning_effort: Literal["none", "minimal", "low", "medium", "high", "xhigh"] | None = None
    verbosity: Literal["low", "medium", "high"] | None = None
    service_tier: str | None = None
    prompt_cache_key: str | None = None
    prompt_cache_retention: str | None = None
    safety_identifier: str | None = None
    #: Passed to whichever provider answers (see openai_request).
    top_p: float | None = Field(default=None, ge=0.0, le=1.0)
    # Sampling controls: refused unless at their neutral value (see openai_request).
    frequency_penalty: float | None = Field(default=None, ge=-2.0, le=2.0)
    presence_penalty: float | None = Field(default=None, ge=-2.0, le=2.0)
    logit_bias: dict[str, int] | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    # Not served: refused by name when set.
    prediction: dict[str, Any] | None = None
    audio: dict[str, Any] | None = None
    modalities: list[str] | None = None
    web_search_options: dict[str, Any] | None = None
    functions: list[dict[str, Any]] | None = None
    function_call: str | dict[str, Any] | None = None

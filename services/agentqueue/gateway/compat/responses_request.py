"""A Responses API body (``POST /v1/responses``) as the core :class:`CompletionRequest`,
or a 400 naming the field.

The Responses API is what the OpenAI Agents SDK and ``client.responses.create`` speak by
default. It is Chat Completions with other words — ``input`` items for messages,
``function_call`` / ``function_call_output`` items for tool calls and results,
``instructions`` for the system prompt, ``text.format`` for the answer's shape — plus
*server-side state*, which the gateway does not keep. So:

* **Served**: ``input`` (a string, or items: messages with ``input_text`` /
  ``input_image`` / ``output_text`` / ``refusal`` parts, ``function_call``,
  ``function_call_output``), ``instructions``, function ``tools``, ``tool_choice``,
  ``parallel_tool_calls``, ``max_output_tokens``, ``temperature``, ``top_p``, ``text.format``
  (text, ``json_object``, ``json_schema``), ``stream``. ``reasoning`` items in ``input``
  (a model's own thoughts, replayed by the SDKs) are dropped: they belong to the provider
  that wrote them, and a fallback may land on another one.
* **Accepted, no effect on the answer**: ``store`` (nothing is ever stored; the answer
  says ``store: false``), ``metadata``, ``user``, ``service_tier``, ``prompt_cache_key``,
  ``prompt_cache_retention``, ``prompt_cache_options``, ``safety_identifier``,
  ``truncation``, ``max_tool_calls`` (a limit on built-in tools, which are not served),
  ``stream_options``, ``background: false``, ``text.verbosity``, a function's ``strict``,
  an image's ``detail``, and ``include`` values asking for items we never produce.
  ``reasoning`` (effort, summary) is a hint with no core field, as Chat Completions'
  ``reasoning_effort`` is (see :mod:`openai_request`).
* **Refused with 400 naming the parameter**: ``previous_response_id``, ``conversation``,
  ``prompt`` and ``item_reference`` items (they need state the gateway keeps none of:
  send the whole conversation as ``input``, which the Agents SDK does by default),
  built-in tools (``web_search``, ``file_search``, ``computer_use_preview``, …),
  ``top_logprobs`` > 0 (as Chat Completions decides), ``include`` of
  logprobs, ``background: true``, ``context_management``, ``input_image`` by
  ``file_id``, ``input_file`` and ``input_audio`` parts, other item types.

Unknown parameters are refused by the body model (``Unrecognized request argument``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from agentqueue.core.llm.catalog import Catalog, UnknownModel
from agentqueue.core.llm.messages import (
    ChatMessage,
    CompletionRequest,
    ImagePart,
    ResponseFormat,
    ToolCall,
    ToolChoice,
    ToolResult,
    ToolSpec,
)
from agentqueue.gateway.compat.calls import TIER_ALIASES, build_request, resolve_model
from agentqueue.gateway.compat.openai_errors import OpenAIError, model_not_found
from agentqueue.gateway.compat.openai_request import (
    check_schema,
    image_part,
    invalid,
    json_schema_format,
    param_error,
)
from agentqueue.gateway.compat.responses_body import (
    FunctionCallItem,
    FunctionCallOutputItem,
    FunctionTool,
    InputImage,
    InputText,
    MessageItem,
    NamedFunction,
    OutputText,
    ReasoningItem,
    Refusal,
    ResponsesBody,
    TextConfig,
    Unmodelled,
)

# --- what we refuse ----------------------------------------------------------------------

#: ``include`` values that ask for parts of items we never produce: harmless.
HARMLESS_INCLUDES = frozenset(
    {
        "reasoning.encrypted_content",
        "file_search_call.results",
        "web_search_call.results",
        "web_search_call.action.sources",
        "code_interpreter_call.outputs",
        "computer_call_output.output.image_url",
        "message.input_image.image_url",
    }
)

NO_STATE = (
    "this gateway keeps no response state (nothing is stored): send the whole "
    "conversation as 'input' (the OpenAI Agents SDK does by default)"
)


def refuse_unserved(body: ResponsesBody) -> None:
    """400 for a parameter we cannot honour (see the module docstring)."""
    for name in ("previous_response_id", "conversation", "prompt"):
        if getattr(body, name) is not None:
            raise invalid(name, f"{name} is not supported: {NO_STATE}")
    if body.top_logprobs:
        raise invalid("top_logprobs", "top_logprobs is not supported by this gateway")
    for k, value in enumerate(body.include or []):
        if value not in HARMLESS_INCLUDES:
            raise invalid(f"include[{k}]", f"include value {value!r} is not supported")
    if body.background:
        raise invalid("background", "background responses need stored state; " + NO_STATE)
    if body.context_management:
        raise invalid("context_management", "context_management is not supported")


# --- the conversation ----------------------------------------------------------------


def _check_model(catalog: Catalog, name: str) -> None:
    """404 for a model the catalog does not have (as Chat Completions answers)."""
    if name in TIER_ALIASES:
        return
    try:
        catalog.get(name)
    except UnknownModel:
        embedding = {m.model for m in getattr(catalog, "embedding_models", [])}
        if name in embedding:
            raise OpenAIError(
                404,
                f"{name!r} is an embedding model, not a chat model: use /v1/embeddings",
                param="model",
                code="model_not_found",
            ) from None
        raise model_not_found(name) from None


def _parts_text(where: str, parts: str | list[Any], role: str) -> tuple[str, list[ImagePart]]:
    """A message's (or tool output's) text and images; what a role cannot carry is 400."""
    if isinstance(parts, str):
        return parts, []
    texts: list[str] = []
    images: list[ImagePart] = []
    for j, part in enumerate(parts):
        param = f"{where}[{j}]"
        if isinstance(part, InputText | OutputText):
            texts.append(part.text)
        elif isinstance(part, Refusal):
            texts.append(part.refusal)
        elif isinstance(part, InputImage):
            if role != "user":
                raise invalid(
                    f"{param}.type", f"input_image parts belong to user input, not {role}"
                )
            if part.file_id is not None or part.image_url is None:
                raise invalid(
                    f"{param}.file_id" if part.file_id is not None else f"{param}.image_url",
                    "images must be sent by image_url (a data URL or an https URL): this "
                    "gateway stores no files",
                )
            images.append(image_part(f"{param}.image_url", part.image_url))
        else:
            raise invalid(
                f"{param}.type",
                f"content parts of type {part.type!r} are not supported; send input_text or "
                "input_image parts",
            )
    return "\n".join(t for t in texts if t), images


def _arguments(param: str, item: FunctionCallItem) -> dict[str, Any]:
    try:
        parsed = json.loads(item.arguments) if item.arguments.strip() else {}
    except json.JSONDecodeError as exc:
        raise invalid(f"{param}.arguments", f"not valid JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise invalid(f"{param}.arguments", "arguments must be a JSON object")
    return parsed


class _Conversation:
    """Input items folded into core turns: an assistant's message and function calls are
    one turn, consecutive function call outputs (and the user's words after them) another."""

    def __init__(self) -> None:
        self.system: list[str] = []
        self.turns: list[tuple[int, dict[str, Any]]] = []
        self.calls: dict[str, str] = {}  # every function call so far: call_id → name
        self.pending: dict[str, int] = {}  # calls with no output yet: call_id → item index

    def _last(self, role: str, results: bool = False) -> dict[str, Any] | None:
        if not self.turns:
            return None
        turn = self.turns[-1][1]
        if turn["role"] != role or (results and not turn.get("tool_results")):
            return None
        return turn

    def _unanswered(self, i: int) -> OpenAIError:
        return invalid(
            f"input[{i}]",
            "No tool output found for function call(s) "
            f"{', '.join(self.pending)}: each function_call needs a function_call_output "
            "before the next message",
        )

    def message(self, i: int, item: MessageItem) -> None:
        where = f"input[{i}].content"
        if item.role in ("system", "developer"):
            text, _ = _parts_text(where, item.content, item.role)
            if text:
                self.system.append(text)
            return
        if self.pending:
            raise self._unanswered(i)
        text, images = _parts_text(where, item.content, item.role)
        if item.role == "user":
            if not text and not images:
                raise invalid(where, "a user message's content must not be empty")
            after_results = self._last("user", results=True)
            if after_results is not None and not after_results["content"]:
                after_results.update(content=text, images=images)
            else:
                self.turns.append((i, {"role": "user", "content": text, "images": images}))
            return
        if not text:
            return  # an empty assistant message says nothing
        same = self._last("assistant")
        if same is not None and not same["tool_calls"]:
            same["content"] = "\n".join(t for t in (same["content"], text) if t)
        else:
            self.turns.append((i, {"role": "assistant", "content": text, "tool_calls": []}))

    def function_call(self, i: int, item: FunctionCallItem) -> None:
        if item.call_id in self.calls:
            raise invalid(f"input[{i}].call_id", f"duplicate function call id {item.call_id!r}")
        try:
            call = ToolCall(
                id=item.call_id, name=item.name, arguments=_arguments(f"input[{i}]", item)
            )
        except ValidationError as exc:
            raise param_error(exc, f"input[{i}]", {}) from None
        turn = self._last("assistant")
        if turn is None:
            turn = {"role": "assistant", "content": "", "tool_calls": []}
            self.turns.append((i, turn))
        turn["tool_calls"].append(call)
        self.calls[call.id] = call.name
        self.pending[call.id] = i

    def function_call_output(self, i: int, item: FunctionCallOutputItem) -> None:
        if item.call_id not in self.pending:
            raise invalid(
                f"input[{i}].call_id",
                "a function_call_output must answer an earlier function_call in input; "
                f"no unanswered function call has call_id {item.call_id!r}",
            )
        text, _ = _parts_text(f"input[{i}].output", item.output, "tool")
        del self.pending[item.call_id]
        try:
            result = ToolResult(
                tool_call_id=item.call_id, content=text, name=self.calls[item.call_id]
            )
        except ValidationError as exc:
            raise param_error(exc, f"input[{i}]", {"content": "output"}) from None
        turn = self._last("user", results=True)
        if turn is not None and not turn["content"]:
            turn["tool_results"].append(result)
        else:
            self.turns.append((i, {"role": "user", "content": "", "tool_results": [result]}))


def conversation(
    instructions: str | None, items: str | Sequence[Any]
) -> tuple[str | None, list[tuple[int, dict[str, Any]]]]:
    """The system prompt (``instructions``, then system and developer messages) and the
    core turns, each with the index of the input item it starts at (for errors)."""
    if isinstance(items, str):
        if not items:
            raise invalid("input", "input must not be empty")
        items = [MessageItem(role="user", content=items)]
    if not items:
        raise invalid("input", "input must not be empty: at least one message is needed")
    folded = _Conversation()
    if instructions:
        folded.system.append(instructions)
    for i, item in enumerate(items):
        if isinstance(item, MessageItem):
            folded.message(i, item)
        elif isinstance(item, FunctionCallItem):
            folded.function_call(i, item)
        elif isinstance(item, FunctionCallOutputItem):
            folded.function_call_output(i, item)
        elif isinstance(item, ReasoningItem):
            continue
        else:
            why = NO_STATE if item.type == "item_reference" else "send messages and function calls"
            raise invalid(
                f"input[{i}].type", f"input items of type {item.type!r} are not supported: {why}"
            )
    if folded.pending:
        raise folded._unanswered(len(items) - 1)
    if not folded.turns:
        raise invalid("input", "at least one user message is needed")
    for i, turn in folded.turns:  # a value the core refuses, named as the input item
        try:
            ChatMessage(**turn)
        except ValidationError as exc:
            raise param_error(exc, f"input[{i}]", {}) from None
    return "\n".join(folded.system) or None, folded.turns


# --- tools and the answer's shape -----------------------------------------------------


def tools(bodies: Sequence[FunctionTool | Unmodelled] | None) -> list[ToolSpec]:
    specs: list[ToolSpec] = []
    for k, tool in enumerate(bodies or []):
        if not isinstance(tool, FunctionTool):
            raise invalid(
                f"tools[{k}].type",
                f"built-in tool {tool.type!r} is not supported by this gateway: only "
                "function tools (run by the caller) are served",
            )
        schema = (
            tool.parameters if tool.parameters is not None else {"type": "object", "properties": {}}
        )
        if schema.get("type", "object") != "object":
            raise invalid(
                f"tools[{k}].parameters", "a function's parameters must be of type 'object'"
            )
        check_schema(f"tools[{k}].parameters", schema)
        try:
            spec = ToolSpec(name=tool.name, description=tool.description or "", input_schema=schema)
        except ValidationError as exc:
            raise param_error(exc, f"tools[{k}]", {"input_schema": "parameters"}) from None
        if any(s.name == spec.name for s in specs):
            raise invalid(f"tools[{k}].name", f"duplicate function name {spec.name!r}")
        specs.append(spec)
    return specs


def tool_choice(
    choice: str | NamedFunction | Unmodelled | None, specs: Sequence[ToolSpec]
) -> ToolChoice | None:
    if choice is None or (not specs and choice in ("auto", "none")):
        return None
    if isinstance(choice, Unmodelled):
        raise invalid(
            "tool_choice",
            f"tool_choice of type {choice.type!r} is not supported; use 'auto', 'none', "
            "'required' or {'type': 'function', 'name': ...}",
        )
    if not specs:
        raise invalid("tool_choice", "tool_choice is only allowed when tools are specified")
    if isinstance(choice, NamedFunction):
        if not any(s.name == choice.name for s in specs):
            raise invalid("tool_choice.name", f"no tool named {choice.name!r} in tools")
        return ToolChoice(mode="tool", name=choice.name)
    return ToolChoice(mode=choice)  # type: ignore[arg-type]  # auto | none | required


def response_format(text: TextConfig | None) -> ResponseFormat | None:
    fmt = text.format if text else None
    if fmt is None or fmt.type == "text":
        return None
    if fmt.type == "json_object":
        return ResponseFormat(type="json_object")
    if not fmt.name:
        raise invalid("text.format.name", "a json_schema format needs a name")
    return json_schema_format("text.format", fmt.name, fmt.schema_, bool(fmt.strict))


# --- the whole request ---------------------------------------------------------------


def to_request(body: ResponsesBody, catalog: Catalog) -> CompletionRequest:
    """The core request; any refusal is a 400 (404 for an unknown model) naming the field."""
    _check_model(catalog, body.model)
    tier, model = resolve_model(catalog, body.model)
    refuse_unserved(body)
    system, turns = conversation(body.instructions, body.input)
    specs = tools(body.tools)
    choice = tool_choice(body.tool_choice, specs)
    return build_request(
        turns=turns,
        system=system,
        tier=tier,
        model=model,
        max_tokens=body.max_output_tokens or 1024,
        temperature=body.temperature,
        top_p=None if body.top_p == 1.0 else body.top_p,  # 1: no cut, the default
        tools=specs,
        tool_choice=choice,
        parallel_tool_calls=body.parallel_tool_calls if specs else None,
        response_format=response_format(body.text),
    )

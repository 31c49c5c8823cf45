"""A Chat Completions body as the core :class:`CompletionRequest`, or a 400 naming the field.

What agent frameworks send is served: tools (``function``), ``tool_choice``,
``parallel_tool_calls``, assistant ``tool_calls`` and ``tool`` messages (consecutive ones
become one user turn of tool results, with the user message right after them, if any),
``image_url`` parts (``data:`` URLs inline, ``https`` URLs by reference), ``response_format``
(text, ``json_object``, ``json_schema``), ``stop``, ``seed``, ``max_completion_tokens``
(``max_tokens``' newer name; it wins when both are sent), ``top_p`` (sent to whichever
provider answers: OpenAI, Anthropic and Gemini all take it — recent Claude models refuse
it beside ``temperature``, as they do on Anthropic's own API),
``stream_options.include_usage`` (the usage chunk is sent only when asked, as OpenAI
does). Everything else OpenAI documents falls into one of three groups:

* **Accepted, no effect on the answer**: ``user``, ``metadata``, ``store``,
  ``service_tier``, ``prompt_cache_key``, ``prompt_cache_retention``,
  ``safety_identifier``, ``stream_options.include_obfuscation``, a message's ``name``,
  an image's ``detail`` and a function's ``strict`` (arguments always come back as the
  JSON object the provider produced). Also ``n=1``, ``logprobs=false``,
  ``modalities=["text"]``, ``stream_options`` without ``stream``, and ``tool_choice``
  ``auto`` / ``none`` without tools (``required`` or a named tool without them is 400).
* **Accepted hints**: ``reasoning_effort`` and ``verbosity``. They tune how long a
  model thinks or talks, not what a correct answer is, so refusing them would break
  frameworks for nothing. ``reasoning_effort`` is sent to an OpenAI-protocol provider
  when a stream is passed through (:func:`passthrough_of`); otherwise (whole answers,
  other providers) neither is passed on: the core request has no field for them and a
  fallback may land on a model without the notion.
* **Served on pass-through streams only**: ``logprobs=true`` / ``top_logprobs``: sent to
  the OpenAI-protocol provider, whose chunks carry them to the caller; only such a
  provider may then answer, and the cache is skipped. Elsewhere (not streamed, the
  switch off, or a named model of another provider) they are refused, 400 naming
  ``logprobs`` / ``top_logprobs``.
* **Refused with 400 naming the parameter** — they change the answer and we cannot honour
  them across providers, and a clear refusal beats a silent ignore: ``n`` > 1 (one
  choice per answer; send ``n`` requests), ``frequency_penalty`` /
  ``presence_penalty`` ≠ 0, a non-empty ``logit_bias``, ``prediction``, ``audio``,
  ``modalities`` other than text, ``web_search_options``, the deprecated ``functions`` /
  ``function_call`` / ``function`` role, ``input_audio`` and ``file`` parts. Their neutral
  values (what the SDKs send when a user sets nothing) pass.

Unknown parameters are refused by the body model (``Unrecognized request argument``).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Sequence
from typing import Any

from jsonschema.exceptions import SchemaError  # type: ignore[import-untyped]
from jsonschema.validators import validator_for  # type: ignore[import-untyped]
from pydantic import ValidationError

from agentqueue.core.llm.catalog import Catalog, UnknownModel
from agentqueue.core.llm.messages import (
    CompletionRequest,
    ImagePart,
    ResponseFormat,
    ToolCall,
    ToolChoice,
    ToolResult,
    ToolSpec,
)
from agentqueue.core.llm.providers.base import Passthrough, Provider
from agentqueue.gateway.compat.calls import TIER_ALIASES, build_request, resolve_model
from agentqueue.gateway.compat.openai_body import (
    AssistantMessage,
    ChatCompletionBody,
    FunctionMessage,
    ImagePartBody,
    Message,
    NamedToolChoice,
    OtherPart,
    SystemMessage,
    TextPart,
    ToolBody,
    ToolMessage,
    UserMessage,
)
from agentqueue.gateway.compat.openai_errors import OpenAIError, model_not_found, openai_param


def invalid(param: str, message: str) -> OpenAIError:
    """400 naming ``param``; the message names it too (``str(error)`` is what people read)."""
    if f"'{param}'" not in message and not message.startswith(param):
        message = f"Invalid '{param}': {message}"
    return OpenAIError(400, message, param=param)


def param_error(exc: ValidationError, prefix: str, names: dict[str, str]) -> OpenAIError:
    """A core model's refusal under ``prefix``, its field renamed as OpenAI calls it."""
    first = exc.errors(include_url=False)[0]
    loc = [names.get(str(p), p) if isinstance(p, str) else p for p in first["loc"]]
    sub = openai_param(loc)
    param = f"{prefix}.{sub}" if sub and not sub.startswith("[") else f"{prefix}{sub or ''}"
    return invalid(param, f"Invalid value for '{param}': {first['msg']}")


def check_schema(param: str, schema: dict[str, Any]) -> None:
    """A 400 naming ``param`` unless ``schema`` is a JSON schema (tool parameters, a
    response format's schema: shared with the Responses API)."""
    try:
        validator_for(schema).check_schema(schema)
    except SchemaError as exc:
        raise invalid(param, f"Invalid schema for '{param}': {exc.message}") from None
    except Exception as exc:  # a "$schema" that is no URI string, say: still the caller's
        raise invalid(param, f"Invalid schema for '{param}': {exc}") from None


# --- the conversation ----------------------------------------------------------------


def _text(content: str | Sequence[Any] | None) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "\n".join(p.text for p in content if isinstance(p, TextPart) and p.text)


_DATA_URL = re.compile(r"^data:(?P<type>[\w.+-]+/[\w.+-]+)(?:;[^,;]*)*?;base64,(?P<data>.*)$", re.S)


def image_part(param: str, url: str) -> ImagePart:
    """An ``image_url``: a ``data:`` URL inline (base64 checked), an ``https`` URL as is."""
    try:
        if url.startswith("data:"):
            match = _DATA_URL.match(url)
            if match is None:
                raise invalid(param, "a data URL must be 'data:image/<type>;base64,<data>'")
            media_type = match["type"].lower().replace("image/jpg", "image/jpeg")
            data = match["data"]
            try:
                base64.b64decode(data, validate=True)
            except (binascii.Error, ValueError):
                raise invalid(param, "the data URL's image is not valid base64") from None
            return ImagePart(media_type=media_type, data=data)
        if url.startswith("https://"):
            return ImagePart(url=url)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        if first["loc"] == ("media_type",):
            raise invalid(param, "images must be image/png, jpeg, gif or webp") from None
        raise invalid(param, f"Invalid image: {first['msg']}") from None
    raise invalid(param, "an image URL must be an https URL or a base64 data URL")


def _user_turn(i: int, m: UserMessage) -> dict[str, Any]:
    images: list[ImagePart] = []
    if isinstance(m.content, str):
        text = m.content
    else:
        if not m.content:
            raise invalid(f"messages[{i}].content", "empty array; expected at least one part")
        for j, part in enumerate(m.content):
            if isinstance(part, OtherPart):
                raise invalid(
                    f"messages[{i}].content[{j}].type",
                    f"content parts of type {part.type!r} are not supported; send text or "
                    "image_url parts",
                )
            if isinstance(part, ImagePartBody):
                images.append(
                    image_part(f"messages[{i}].content[{j}].image_url.url", part.image_url.url)
                )
        text = _text(m.content)
    if not text and not images:
        raise invalid(f"messages[{i}].content", "a user message's content must not be empty")
    return {"role": "user", "content": text, "images": images}


def _tool_call(param: str, call_id: str, name: str, arguments: str) -> ToolCall:
    try:
        parsed = json.loads(arguments) if arguments.strip() else {}
    except json.JSONDecodeError as exc:
        raise invalid(f"{param}.function.arguments", f"not valid JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise invalid(f"{param}.function.arguments", "arguments must be a JSON object")
    try:
        return ToolCall(id=call_id, name=name, arguments=parsed)
    except ValidationError as exc:
        raise param_error(exc, param, {"name": "function.name"}) from None


def _assistant_turn(i: int, m: AssistantMessage) -> dict[str, Any]:
    if m.audio is not None:
        raise invalid(f"messages[{i}].audio", "audio is not supported")
    if m.function_call is not None:
        raise invalid(
            f"messages[{i}].function_call",
            "function_call is deprecated and not supported; use tool_calls",
        )
    text = _text(m.content)
    if isinstance(m.content, list):
        refusals = [p.refusal for p in m.content if not isinstance(p, TextPart) and p.refusal]
        text = "\n".join([t for t in (text, *refusals) if t])
    if m.refusal and not text:
        text = m.refusal  # what the model said instead of an answer
    calls = [
        _tool_call(f"messages[{i}].tool_calls[{j}]", c.id, c.function.name, c.function.arguments)
        for j, c in enumerate(m.tool_calls or [])
    ]
    if len({c.id for c in calls}) != len(calls):
        raise invalid(f"messages[{i}].tool_calls", "tool call ids must be unique")
    if not text and not calls:
        raise invalid(f"messages[{i}].content", "an assistant message needs content or tool_calls")
    return {"role": "assistant", "content": text, "tool_calls": calls}


def _unanswered(i: int, pending: dict[str, str]) -> OpenAIError:
    return invalid(
        f"messages[{i}]",
        "An assistant message with 'tool_calls' must be followed by tool messages responding "
        f"to each 'tool_call_id'. The following tool_call_ids did not have response "
        f"messages: {', '.join(pending)}",
    )


def conversation(
    messages: Sequence[Message],
) -> tuple[str | None, list[tuple[int, dict[str, Any]]]]:
    """The system prompt (system and developer messages, joined) and the core turns, each
    with the index of the body message it starts at (for errors)."""
    system: list[str] = []
    turns: list[tuple[int, dict[str, Any]]] = []
    pending: dict[str, str] = {}  # the last assistant turn's unanswered calls: id → name
    collecting = False  # the last turn is a user turn of tool results
    for i, m in enumerate(messages):
        if isinstance(m, SystemMessage):
            if text := _text(m.content):
                system.append(text)
            continue
        if isinstance(m, FunctionMessage):
            raise invalid(
                f"messages[{i}].role", "the 'function' role is deprecated; use 'tool' messages"
            )
        if isinstance(m, ToolMessage):
            if m.tool_call_id not in pending:
                raise invalid(
                    f"messages[{i}].tool_call_id",
                    "messages with role 'tool' must be a response to a preceding message "
                    f"with 'tool_calls'; no pending tool call has id {m.tool_call_id!r}",
                )
            try:
                result = ToolResult(
                    tool_call_id=m.tool_call_id,
                    content=_text(m.content),
                    name=pending.pop(m.tool_call_id),
                )
            except ValidationError as exc:
                raise param_error(exc, f"messages[{i}]", {}) from None
            if collecting:
                turns[-1][1]["tool_results"].append(result)
            else:
                turns.append((i, {"role": "user", "content": "", "tool_results": [result]}))
                collecting = True
            continue
        if pending:
            raise _unanswered(i, pending)
        if isinstance(m, UserMessage):
            turn = _user_turn(i, m)
            if collecting:  # the user's words after the tool results: the same turn
                turns[-1][1].update(content=turn["content"], images=turn["images"])
            else:
                turns.append((i, turn))
        elif isinstance(m, AssistantMessage):
            turn = _assistant_turn(i, m)
            pending = {c.id: c.name for c in turn["tool_calls"]}
            turns.append((i, turn))
        collecting = False
    if pending:
        raise _unanswered(len(messages) - 1, pending)
    if not turns:
        raise invalid("messages", "at least one user message is needed")
    return "\n".join(system) or None, turns


# --- tools and the answer's shape -----------------------------------------------------


def tools(bodies: Sequence[ToolBody] | None) -> list[ToolSpec]:
    specs: list[ToolSpec] = []
    for k, tool in enumerate(bodies or []):
        fn = tool.function
        where = f"tools[{k}].function"
        schema = (
            fn.parameters if fn.parameters is not None else {"type": "object", "properties": {}}
        )
        if schema.get("type", "object") != "object":
            raise invalid(f"{where}.parameters", "a function's parameters must be of type 'object'")
        check_schema(f"{where}.parameters", schema)
        try:
            spec = ToolSpec(name=fn.name, description=fn.description or "", input_schema=schema)
        except ValidationError as exc:
            raise param_error(exc, where, {"input_schema": "parameters"}) from None
        if any(s.name == spec.name for s in specs):
            raise invalid(f"{where}.name", f"duplicate function name {spec.name!r}")
        specs.append(spec)
    return specs


def tool_choice(
    choice: str | NamedToolChoice | None, specs: Sequence[ToolSpec]
) -> ToolChoice | None:
    if choice is None or (not specs and choice in ("auto", "none")):
        return None
    if not specs:
        raise invalid("tool_choice", "tool_choice is only allowed when tools are specified")
    if isinstance(choice, NamedToolChoice):
        name = choice.function.name
        if not any(s.name == name for s in specs):
            raise invalid("tool_choice.function.name", f"no tool named {name!r} in tools")
        return ToolChoice(mode="tool", name=name)
    return ToolChoice(mode=choice)  # type: ignore[arg-type]  # auto | none | required


def response_format(body: ChatCompletionBody) -> ResponseFormat | None:
    fmt = body.response_format
    if fmt is None or fmt.type == "text":
        return None
    if fmt.type == "json_object":
        return ResponseFormat(type="json_object")
    spec = fmt.json_schema
    if spec is None:
        raise invalid("response_format.json_schema", "a json_schema format needs json_schema")
    return json_schema_format(
        "response_format.json_schema", spec.name, spec.schema_, bool(spec.strict)
    )


def json_schema_format(
    where: str, name: str, schema: dict[str, Any] | None, strict: bool
) -> ResponseFormat:
    """A ``json_schema`` answer format, or a 400 naming ``where``'s field (shared with the
    Responses API, whose ``text.format`` carries the same three things)."""
    if schema is None:
        raise invalid(f"{where}.schema", "the JSON schema is required")
    check_schema(f"{where}.schema", schema)
    try:
        return ResponseFormat(type="json_schema", name=name, json_schema=schema, strict=strict)
    except ValidationError as exc:
        raise param_error(exc, where, {"json_schema": "schema"}) from None


def stop(value: str | list[str] | None) -> list[str]:
    sequences = [value] if isinstance(value, str) else list(value or [])
    if len(sequences) > 4:
        raise invalid("stop", "at most 4 stop sequences")
    if any(not s for s in sequences):
        raise invalid("stop", "stop sequences must not be empty")
    return sequences


# --- what we refuse --------------------------------------------------------------------

_LOGPROBS = (
    "is only served on streams (stream=true) answered by an OpenAI model: other "
    "providers and the gateway's translated answers carry no token probabilities"
)


def refuse_unserved(body: ChatCompletionBody, *, passthrough: bool = False) -> None:
    """400 for a parameter that would change the answer in a way we cannot honour (see
    the module docstring); its neutral value passes. ``passthrough``: the call may be
    streamed as an OpenAI-protocol provider's own bytes, which carry token probabilities."""

    def no(param: str, why: str = "is not supported by this gateway") -> OpenAIError:
        return invalid(param, f"{param} {why}")

    if body.n not in (None, 1):
        raise no("n", "must be 1: this gateway answers with one choice")
    if body.logprobs and not passthrough:
        raise no("logprobs", _LOGPROBS)
    if body.top_logprobs and not passthrough:
        raise no("top_logprobs", _LOGPROBS)
    if body.top_logprobs and not body.logprobs:
        raise no("top_logprobs", "requires logprobs=true")
    for name in ("frequency_penalty", "presence_penalty"):
        if getattr(body, name) not in (None, 0.0):
            raise no(name)
    if body.logit_bias:
        raise no("logit_bias")
    for name in ("prediction", "audio", "web_search_options"):
        if getattr(body, name) is not None:
            raise no(name)
    if body.modalities is not None and body.modalities != ["text"]:
        raise no("modalities", "other than ['text'] are not supported")
    if body.functions is not None or body.function_call is not None:
        param = "functions" if body.functions is not None else "function_call"
        raise no(param, "is deprecated and not supported; use tools and tool_choice")


# --- the whole request ---------------------------------------------------------------


def passthrough_of(body: ChatCompletionBody) -> Passthrough:
    """How a stream of this body is passed through when an OpenAI-protocol provider
    answers: with the hints the core request has no field for (``reasoning_effort``),
    token probabilities (then *only* such a provider may answer, and no cached answer,
    which keeps none), and the usage chunk cut out unless the caller asked for it."""
    extra: dict[str, Any] = {}
    if body.reasoning_effort is not None:
        extra["reasoning_effort"] = body.reasoning_effort
    if body.logprobs:
        extra["logprobs"] = True
        if body.top_logprobs:
            extra["top_logprobs"] = body.top_logprobs
    include_usage = bool(body.stream_options and body.stream_options.include_usage)
    return Passthrough(
        "openai", extra=extra, hide_usage=not include_usage, required="logprobs" in extra
    )


def check_passthrough(
    call: CompletionRequest, passthrough: Passthrough, candidates: Sequence[tuple[Provider, str]]
) -> None:
    """400 naming ``logprobs`` when only a pass-through stream could serve the call and no
    candidate passes through: a named model that cannot (Claude, Gemini: it is not
    silently replaced by one that can), or, for a tier, no OpenAI provider."""
    if not passthrough.required:
        return
    if call.model is not None:
        candidates = [(p, m) for p, m in candidates if m == call.model]
    if not any(p.passes_through(call, passthrough) for p, _ in candidates):
        raise invalid("logprobs", f"logprobs {_LOGPROBS}")


def to_request(
    body: ChatCompletionBody, catalog: Catalog, *, passthrough: bool = False
) -> CompletionRequest:
    """The core request; any refusal is a 400 (404 for an unknown model) naming the field.
    ``passthrough``: see :func:`refuse_unserved`."""
    if body.model not in TIER_ALIASES:
        try:
            catalog.get(body.model)
        except UnknownModel:
            embedding = {m.model for m in getattr(catalog, "embedding_models", [])}
            if body.model in embedding:  # OpenAI's answer too: 404, not a chat model
                raise OpenAIError(
                    404,
                    f"{body.model!r} is an embedding model, not a chat model: use /v1/embeddings",
                    param="model",
                    code="model_not_found",
                ) from None
            raise model_not_found(body.model) from None
    tier, model = resolve_model(catalog, body.model)
    refuse_unserved(body, passthrough=passthrough)
    system, turns = conversation(body.messages)
    specs = tools(body.tools)
    choice = tool_choice(body.tool_choice, specs)
    return build_request(
        turns=turns,
        system=system,
        tier=tier,
        model=model,
        max_tokens=body.max_completion_tokens or body.max_tokens or 1024,
        temperature=body.temperature,
        top_p=None if body.top_p == 1.0 else body.top_p,  # 1: no cut, the default
        tools=specs,
        tool_choice=choice,
        parallel_tool_calls=body.parallel_tool_calls if specs else None,
        stop=stop(body.stop),
        seed=body.seed,
        response_format=response_format(body),
    )

"""What the simulated model answers, in no protocol's words: text, JSON or a tool call.

Agent frameworks drive a loop — offer tools, get a call, send its result back, get a
final answer — and validate what comes back. Each protocol router parses its request's
tools, tool choice, tool results, output format, stop sequences and images into one
:class:`Extras`; :func:`answer` decides the reply the same way for all three:

* tools offered, tool choice not "none" and the last turn carrying no tool result:
  one call to the named tool (else the first), with arguments valid against its schema —
  or, when two or more tools are offered, no tool is named and the request allows
  parallel calls (OpenAI's ``parallel_tool_calls`` not false, Anthropic's
  ``disable_parallel_tool_use`` not true), two calls in one turn: to the first tool and
  to the second, so that callers' parallel-call paths are exercised;
* tool results in the last turn: a text that says what each tool returned;
* JSON asked for: a JSON object, valid against the schema when one is given;
* otherwise the usual deterministic text — cut at the first stop sequence it holds.

Text is counted a word per token, JSON (a tool call's arguments too) four characters
per token. A tool call is never cut at ``max_tokens``: its arguments stay valid JSON.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from agentqueue.core.llm.tokenizers import TextCounter
from agentqueue.simulator.schema_example import example
from agentqueue.simulator.text import (
    char_pieces,
    cut_at_stop,
    estimate_tokens,
    prompt_words,
    reply_tokens,
    word_pieces,
)

#: Input tokens counted per image or document, as ``agentqueue.core.llm.tokens`` counts
#: an image (about what Claude charges for an image of 1,000 by 1,000 pixels).
IMAGE_TOKENS = 1600

#: Characters of a tool's result quoted in the answer that follows it.
RESULT_QUOTE = 200


@dataclass(frozen=True)
class Tool:
    name: str
    schema: Any  # the JSON schema of its arguments


@dataclass(frozen=True)
class ToolResult:
    name: str
    content: str
    is_error: bool = False


@dataclass(frozen=True)
class ToolCall:
    """One call the simulated model makes; ``id`` is hex, each protocol adds its prefix."""

    id: str
    name: str
    arguments: str  # a JSON object, as text

    @property
    def args(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.arguments)
        return value


@dataclass(frozen=True)
class Extras:
    """What a request asks beyond its texts and ``max_tokens``."""

    tools: tuple[Tool, ...] = ()
    no_tools: bool = False  # tool choice "none"
    forced_tool: str | None = None  # the tool the tool choice names
    parallel: bool = True  # several calls in one turn allowed
    results: tuple[ToolResult, ...] = ()  # tool results in the last turn
    json_output: bool = False
    output_schema: Any = None  # with ``json_output``, the schema the JSON must meet
    stop: tuple[str, ...] = ()
    images: int = 0  # images and documents in the prompt
    tools_text: str = ""  # the tool definitions as sent: input tokens too

    def input_tokens(self, counter: TextCounter | None = None) -> int:
        """Input tokens beyond the texts': images and tool definitions."""
        tools = estimate_tokens([self.tools_text], counter) if self.tools_text else 0
        return IMAGE_TOKENS * self.images + tools


@dataclass(frozen=True)
class Answer:
    #: One simulated token each: text, JSON or the calls' arguments, one call after the
    #: other (:func:`call_spans` says which pieces are whose).
    pieces: list[str]
    tool_calls: tuple[ToolCall, ...] = ()
    stop_sequence: str | None = None

    @property
    def tool_call(self) -> ToolCall | None:
        """The first call, if any."""
        return self.tool_calls[0] if self.tool_calls else None


def call_spans(calls: tuple[ToolCall, ...]) -> list[int]:
    """How many of an answer's pieces each of its calls' arguments take, in order."""
    return [len(char_pieces(c.arguments)) for c in calls]


def answer(
    model: str, system: str | None, turns: list[str], max_tokens: int, extras: Extras
) -> Answer:
    calls = tool_calls(model, system, turns, extras)
    if calls:
        return Answer([p for c in calls for p in char_pieces(c.arguments)], calls)
    reply = reply_tokens(model, system, turns, max_tokens)
    if extras.results:
        text = _after_results(model, reply, extras.results)
        pieces, split = word_pieces(text)[:max_tokens], word_pieces
    elif extras.json_output:
        words = prompt_words(turns[-1] if turns else system or "")
        value = (
            example(extras.output_schema, words)
            if isinstance(extras.output_schema, dict)
            else {"answer": "".join(reply)}
        )
        pieces, split = char_pieces(json.dumps(value))[:max_tokens], char_pieces
    else:
        pieces, split = reply, word_pieces
    text, stop = cut_at_stop("".join(pieces), extras.stop)
    return Answer(split(text), stop_sequence=stop) if stop is not None else Answer(pieces)


def tool_calls(
    model: str, system: str | None, turns: list[str], extras: Extras
) -> tuple[ToolCall, ...]:
    """The calls to make: none when this turn is not a tool turn, two when parallel calls
    are allowed and several tools are offered with none named, else one."""
    if not extras.tools or extras.no_tools or extras.results:
        return ()
    named = [t for t in extras.tools if t.name == extras.forced_tool]
    if named:
        tools = named[:1]
    elif extras.parallel and len(extras.tools) >= 2:
        tools = list(extras.tools[:2])
    else:
        tools = list(extras.tools[:1])
    words = prompt_words(turns[-1] if turns else system or "")
    return tuple(_call(model, system, turns, tool, words) for tool in tools)


def tool_call(model: str, system: str | None, turns: list[str], extras: Extras) -> ToolCall | None:
    """The first call to make, or None when this turn is not a tool turn."""
    calls = tool_calls(model, system, turns, extras)
    return calls[0] if calls else None


def _call(
    model: str, system: str | None, turns: list[str], tool: Tool, words: list[str]
) -> ToolCall:
    arguments = example(tool.schema if isinstance(tool.schema, dict) else {}, words)
    if not isinstance(arguments, dict):
        arguments = {}
    digest = hashlib.sha256("\x1f".join([model, system or "", *turns, tool.name]).encode())
    return ToolCall(digest.hexdigest()[:24], tool.name, json.dumps(arguments))


def _after_results(model: str, reply: list[str], results: tuple[ToolResult, ...]) -> str:
    """The usual reply with what each tool returned said after its head."""
    head = len(f"Simulated {model} reply:".split())
    said = "; ".join(
        f"the tool {r.name} {'failed with' if r.is_error else 'returned'} "
        f"{r.content[:RESULT_QUOTE]}"
        for r in results
    )
    return "".join(reply[:head]) + f" {said}." + "".join(reply[head:])

"""The simplest agent: one LLM call with the task's input.

With ``tools`` the answer may be tool calls rather than text: they are the task's result
(``result.tool_calls``), for the caller to run and submit the next turn with their
results — the task does not run the tools itself. With a JSON ``response_format`` the
answer's text is also parsed into ``result.data``.
"""

from __future__ import annotations

import json
from typing import Any

from agentqueue.core.llm.messages import Completion
from agentqueue.core.tasks.model import TaskResult, TaskSpec
from agentqueue.worker.agents.base import AgentContext


def _parsed(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None  # the provider did not keep to the format: the text says what it said


def completion_result(spec: TaskSpec, completion: Completion) -> TaskResult:
    """The task's result from its one answer (online, or from a provider batch)."""
    wants_json = spec.input.response_format is not None and (
        spec.input.response_format.type != "text"
    )
    return TaskResult(
        text=completion.text,
        provider=completion.provider,
        model=completion.model,
        data=_parsed(completion.text) if wants_json else None,
        tool_calls=completion.tool_calls,
    )


class CompletionAgent:
    async def run(self, spec: TaskSpec, ctx: AgentContext) -> TaskResult:
        return completion_result(spec, await ctx.complete(spec.input))

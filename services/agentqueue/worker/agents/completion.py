"""The simplest agent: one LLM call with the task's input."""

from __future__ import annotations

from agentqueue.core.tasks.model import TaskResult, TaskSpec
from agentqueue.worker.agents.base import AgentContext


class CompletionAgent:
    async def run(self, spec: TaskSpec, ctx: AgentContext) -> TaskResult:
        completion = await ctx.complete(spec.input)
        return TaskResult(
            text=completion.text, provider=completion.provider, model=completion.model
        )

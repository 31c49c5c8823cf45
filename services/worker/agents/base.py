"""The contract between the task runner and an agent."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from agentqueue.core.errors import AgentQueueError
from agentqueue.core.messages import Completion, CompletionRequest
from agentqueue.core.tasks import TaskResult, TaskSpec


class UnknownAgent(AgentQueueError):
    """A task names an agent kind this worker does not have."""


class AgentContext:
    """What an agent may use while it runs: the LLM, through our pipeline only."""

    def __init__(
        self, task_id: str, call: Callable[[CompletionRequest], Awaitable[Completion]]
    ) -> None:
        self.task_id = task_id
        self._call = call

    async def complete(self, request: CompletionRequest) -> Completion:
        """One LLM call: fallback, cost and the task's call record are handled for you."""
        return await self._call(request)


class Agent(Protocol):
    async def run(self, spec: TaskSpec, ctx: AgentContext) -> TaskResult: ...

"""Agents: what a task of each ``kind`` does.

An agent turns a :class:`~agentqueue.core.tasks.TaskSpec` into a
:class:`~agentqueue.core.tasks.TaskResult`, making LLM calls only through the
:class:`~agentqueue.worker.agents.base.AgentContext` it is given, so that every call is
recorded, costed and subject to fallback (and later to the limiter and cache).
"""

from __future__ import annotations

from agentqueue.core.errors import AgentQueueError
from agentqueue.worker.agents.base import Agent, AgentContext, UnknownAgent
from agentqueue.worker.agents.completion import CompletionAgent


class TaskCancelled(AgentQueueError):
    """Raised by :meth:`AgentContext.complete` when the client cancelled the task.

    The context checks before every LLM call (a call in flight is not interrupted).
    Agents must let it propagate: the runner stops the task and records nothing more.
    """


#: Built-in agents by kind.
BUILTIN_AGENTS: dict[str, Agent] = {"completion": CompletionAgent()}


def get_agent(kind: str) -> Agent:
    try:
        return BUILTIN_AGENTS[kind]
    except KeyError:
        raise UnknownAgent(f"no agent of kind {kind!r}; known: {sorted(BUILTIN_AGENTS)}") from None


__all__ = [
    "BUILTIN_AGENTS",
    "Agent",
    "AgentContext",
    "TaskCancelled",
    "UnknownAgent",
    "get_agent",
]

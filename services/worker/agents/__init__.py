"""Agents: what a task of each ``kind`` does.

An agent turns a :class:`~agentqueue.core.tasks.TaskSpec` into a
:class:`~agentqueue.core.tasks.TaskResult`, making LLM calls only through the
:class:`~agentqueue.worker.agents.base.AgentContext` it is given, so that every call is
recorded, costed and subject to fallback (and later to the limiter and cache).
"""

from __future__ import annotations

from agentqueue.worker.agents.base import Agent, AgentContext, UnknownAgent
from agentqueue.worker.agents.completion import CompletionAgent

#: Built-in agents by kind.
BUILTIN_AGENTS: dict[str, Agent] = {"completion": CompletionAgent()}


def get_agent(kind: str) -> Agent:
    try:
        return BUILTIN_AGENTS[kind]
    except KeyError:
        raise UnknownAgent(f"no agent of kind {kind!r}; known: {sorted(BUILTIN_AGENTS)}") from None


__all__ = ["BUILTIN_AGENTS", "Agent", "AgentContext", "UnknownAgent", "get_agent"]

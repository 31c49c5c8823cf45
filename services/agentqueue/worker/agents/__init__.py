"""Agents: what a task of each ``kind`` does.

An agent turns a :class:`~agentqueue.core.tasks.model.TaskSpec` into a
:class:`~agentqueue.core.tasks.model.TaskResult`, making LLM calls only through the
:class:`~agentqueue.worker.agents.base.AgentContext` it is given, so that every call is
recorded, costed, cached where it may be, and held to the shared budget and fallback.

Built-in kinds are listed in ``BUILTIN_AGENTS``; any other kind is looked up among the
installed packages' entry points of group ``agentqueue.agents`` (docs/agents.md), so a
user agent ships as a plain Python package, without changes here.
"""

from __future__ import annotations

from importlib.metadata import entry_points

from agentqueue.core.base.errors import AgentQueueError
from agentqueue.worker.agents.base import Agent, AgentContext, CallInfo, UnknownAgent
from agentqueue.worker.agents.completion import CompletionAgent
from agentqueue.worker.agents.extract import ExtractAgent
from agentqueue.worker.agents.map_reduce import MapReduceAgent
from agentqueue.worker.agents.session_step import SessionStepAgent


class TaskCancelled(AgentQueueError):
    """Raised by :meth:`AgentContext.complete` when the client cancelled the task.

    The context checks before every LLM call (a call in flight is not interrupted).
    Agents must let it propagate: the runner stops the task and records nothing more.
    """


#: Built-in agents by kind.
BUILTIN_AGENTS: dict[str, Agent] = {
    "completion": CompletionAgent(),
    "map_reduce": MapReduceAgent(),
    "extract": ExtractAgent(),
    "session_step": SessionStepAgent(),
}
#: The entry point group user agents register under (name = kind).
ENTRY_POINT_GROUP = "agentqueue.agents"
_loaded: dict[str, Agent] = {}


def _from_entry_point(kind: str) -> Agent | None:
    """The agent an installed package registers for ``kind``: a class (instantiated
    once, without arguments) or an object with an async ``run(spec, ctx)``."""
    if kind in _loaded:
        return _loaded[kind]
    for ep in entry_points(group=ENTRY_POINT_GROUP, name=kind):
        try:
            target = ep.load()
        except Exception as exc:
            raise UnknownAgent(
                f"agent {kind!r} from entry point {ep.value!r} failed to load: {exc}"
            ) from exc
        agent = target() if isinstance(target, type) else target
        if not callable(getattr(agent, "run", None)):
            raise UnknownAgent(f"entry point {ep.value!r} for {kind!r} has no run(spec, ctx)")
        _loaded[kind] = agent
        return agent  # type: ignore[no-any-return]
    return None


def known_kinds() -> list[str]:
    """Built-in kinds and those installed packages register."""
    return sorted({*BUILTIN_AGENTS, *(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))})


def get_agent(kind: str) -> Agent:
    agent = BUILTIN_AGENTS.get(kind) or _from_entry_point(kind)
    if agent is None:
        raise UnknownAgent(f"no agent of kind {kind!r}; known: {known_kinds()}")
    return agent


__all__ = [
    "BUILTIN_AGENTS",
    "ENTRY_POINT_GROUP",
    "Agent",
    "AgentContext",
    "CallInfo",
    "TaskCancelled",
    "UnknownAgent",
    "get_agent",
    "known_kinds",
]

"""Interactive calls get a lane above ``high`` in every provider budget.

A person waiting on a stream cannot wait behind background work, even ``high`` tasks: at
full load (``bench/scenario``) the chats' time to first token otherwise grows with the
background's demand, since every caller at one level queues in arrival order. So the
limiter has four lanes: ``interactive`` may use the whole budget, and each task priority
keeps its reserve below it (``high`` leaves 5%, see
:func:`~agentqueue.core.ratelimit.budget.default_reserves`); when the level is under a
lane's floor, only the lanes above it are served, so the refill goes to them first.

The gateway marks its interactive calls with :func:`interactive` around the call; the
gate reads the mark (a context variable, so it follows the call through the fallback
chain without every signature carrying it). A key limited to lower priorities stays in
its own lane.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from enum import StrEnum

from agentqueue.core.base.priority import Priority


class Lane(StrEnum):
    """A level of the shared budget: the task priorities, and ``interactive`` above."""

    INTERACTIVE = "interactive"
    HIGH = "high"
    STANDARD = "standard"
    BATCH = "batch"


_INTERACTIVE: ContextVar[bool] = ContextVar("agentqueue_interactive_call", default=False)


@contextmanager
def interactive() -> Iterator[None]:
    """Calls made inside are a person's, waiting: ``high`` ones take the interactive lane."""
    token = _INTERACTIVE.set(True)
    try:
        yield
    finally:
        _INTERACTIVE.reset(token)


def lane_of(priority: Priority | Lane) -> Lane:
    """The lane a call at ``priority`` takes here."""
    if priority == Priority.HIGH and _INTERACTIVE.get():
        return Lane.INTERACTIVE
    return Lane(priority.value)

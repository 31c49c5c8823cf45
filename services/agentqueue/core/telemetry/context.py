"""What the current work is, for the lines and series recorded deep inside a call.

The fallback chain logs one line per LLM call with the task it serves; it never sees
the task, so the worker's runner sets :data:`current_task_id` around a task's run (every
step the agent starts inherits it: asyncio tasks copy the context).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

#: The id of the task whose run this code is part of (None outside a task: gateway calls).
current_task_id: ContextVar[str | None] = ContextVar("agentqueue_task_id", default=None)


@contextmanager
def task_context(task_id: str) -> Iterator[None]:
    """:data:`current_task_id` is ``task_id`` inside the block."""
    token = current_task_id.set(task_id)
    try:
        yield
    finally:
        current_task_id.reset(token)

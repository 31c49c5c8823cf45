"""Close the call pipeline inside the worker's event loop before Dramatiq stops that loop.

Why: the pipeline holds work that lives in the loop Dramatiq's ``AsyncIO`` middleware
runs — the breaker exchange's pub/sub listener, the providers' HTTP connections. Left
open when the loop stops, asyncio reports them as "Task was destroyed but it is pending"
at every shutdown, which hides real warnings, and the connections are dropped rather
than closed. Dramatiq runs ``after_worker_shutdown`` hooks in reverse order of the
middleware list, so this one, added after ``AsyncIO``, runs while the loop still turns.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from dramatiq.asyncio import get_event_loop_thread
from dramatiq.middleware import Middleware

log = logging.getLogger("agentqueue.worker")


class CloseInLoop(Middleware):
    """Runs ``close()`` in Dramatiq's event loop once the worker's threads have stopped."""

    def __init__(self, close: Callable[[], Awaitable[None]]) -> None:
        self.close = close

    def after_worker_shutdown(self, broker: Any, worker: Any) -> None:
        loop = get_event_loop_thread()
        if loop is None or not loop.loop.is_running():  # never booted, or already stopped
            return
        try:
            loop.run_coroutine(self.close())
        except Exception as exc:  # a shutdown must finish; say what was left open
            log.warning("the call pipeline did not close cleanly: %s", exc)

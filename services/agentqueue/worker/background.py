"""A loop a worker runs beside Dramatiq's threads, on an event loop of its own.

The reconciler and the batch processor each need one: started with the worker, stopped
with it (waiting for the pass in progress), and never taking the worker down when they
fail — a failure is logged and the worker goes on serving its queue.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


def start_loop_thread(
    name: str, body: Callable[[asyncio.Event], Awaitable[None]], *, join_timeout: float
) -> Callable[[], None]:
    """Run ``body(stop)`` in a daemon thread named ``name``; return the function that sets
    ``stop`` and waits up to ``join_timeout`` seconds for the thread to end."""
    ready = threading.Event()
    holder: dict[str, object] = {}

    async def main() -> None:
        stop = asyncio.Event()
        holder["loop"], holder["stop"] = asyncio.get_running_loop(), stop
        ready.set()
        await body(stop)

    def run() -> None:
        try:
            asyncio.run(main())
        except Exception:
            log.exception("the %s loop stopped", name)
            ready.set()

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    ready.wait(timeout=5)

    def stop() -> None:
        loop, event = holder.get("loop"), holder.get("stop")
        if isinstance(loop, asyncio.AbstractEventLoop) and isinstance(event, asyncio.Event):
            loop.call_soon_threadsafe(event.set)
        thread.join(timeout=join_timeout)

    return stop

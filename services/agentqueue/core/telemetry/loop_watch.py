"""How late a service's event loop runs, and what blocked it when it stalls.

Why: everything an asyncio service does for its callers waits its turn on one loop, so
a callback that holds it (a large JSON document built in one go, a synchronous client,
a full garbage collection) delays every request in flight — and from outside that looks
like a slow provider or a slow Redis. Two instruments, as Node's ``monitorEventLoopDelay``
and the ``aiodebug`` package give:

- ``agentqueue_event_loop_lag_seconds``: how late a timer set ``interval`` ahead fires
  (0 on an idle loop; on a busy one, how long a request may wait to be looked at);
- a watchdog thread that, when the loop has not ticked for ``stall`` seconds, logs the
  loop thread's stack once for that stall (WARNING, ``agentqueue.loop``): the code that
  held it, named — or, when the stack shows nothing slow, a full garbage collection
  under way (a ``gc`` callback marks its start) or a process the OS did not schedule.
  The thread only reads a timestamp and, on a stall, one stack: it costs nothing
  measurable.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import sys
import threading
import time
import traceback
from collections.abc import Awaitable, Callable

from agentqueue.core.telemetry.metrics import EVENT_LOOP_LAG

log = logging.getLogger("agentqueue.loop")


class LoopWatch:
    """One event loop's lag series and stall watchdog; see the module docstring."""

    def __init__(self, service: str, *, interval: float = 0.1, stall: float = 0.5) -> None:
        self.service = service
        self.interval = interval
        self.stall = stall
        self._tick = time.monotonic()
        self._loop_thread = threading.get_ident()
        self._stopped = threading.Event()
        #: Stalls seen (one per stretch without a tick), for tests and the log.
        self.stalls = 0
        #: (when, generation) of the garbage collection under way, if any.
        self._collecting: tuple[float, int] | None = None

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        self._collecting = (time.monotonic(), info["generation"]) if phase == "start" else None

    async def _ticks(self) -> None:
        lag = EVENT_LOOP_LAG.labels(self.service)
        while True:
            before = self._tick = time.monotonic()
            await asyncio.sleep(self.interval)
            lag.observe(max(0.0, time.monotonic() - before - self.interval))

    def _watch(self) -> None:
        reported = 0.0  # the tick whose stall was logged
        while not self._stopped.wait(self.stall / 2):
            tick = self._tick
            held = time.monotonic() - tick
            if held < self.stall or tick == reported:
                continue
            reported = tick
            self.stalls += 1
            frame = sys._current_frames().get(self._loop_thread)
            stack = "".join(traceback.format_stack(frame)) if frame is not None else "?"
            collecting = self._collecting
            during = (
                f" (a generation-{collecting[1]} garbage collection has run "
                f"{time.monotonic() - collecting[0]:.2f} s)"
                if collecting is not None
                else ""
            )
            log.warning(
                "%s event loop blocked for %.2f s so far%s, in:\n%s",
                self.service,
                held,
                during,
                stack,
            )

    async def run(self) -> None:
        """Tick until cancelled, the watchdog thread beside it."""
        self._loop_thread = threading.get_ident()
        self._tick = time.monotonic()
        watchdog = threading.Thread(target=self._watch, name="loop-watch", daemon=True)
        gc.callbacks.append(self._on_gc)
        watchdog.start()
        try:
            await self._ticks()
        finally:
            self._stopped.set()
            gc.callbacks.remove(self._on_gc)


def start_loop_watch(service: str, **options: float) -> Callable[[], Awaitable[None]]:
    """Start watching the running loop; returns the coroutine function that stops it."""
    task = asyncio.create_task(LoopWatch(service, **options).run(), name="loop-watch")

    async def stop() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return stop

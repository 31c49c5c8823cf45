"""The reconciler of a worker process: a thread with its own event loop and Redis pool.

Every worker process runs one (``core/tasks/reconciler.py``; the gateway runs one too),
so that a task whose message was lost — this worker's or any other's — is requeued
within about two intervals; passes of several processes never overlap (a Redis lock)
and could not double-enqueue if they did.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable

from agentqueue.core.base.redisconn import async_redis
from agentqueue.core.queues.broker import TaskBroker
from agentqueue.core.tasks.reconciler import Notify, Reconciler
from agentqueue.core.tasks.store import TaskStore
from agentqueue.worker.settings import WorkerSettings

log = logging.getLogger(__name__)


def start_reconciler(
    settings: WorkerSettings, broker: TaskBroker, notify: Notify | None = None
) -> Callable[[], None]:
    """Start the reconciler thread (none when ``reconcile_interval`` is 0); returns the
    function that stops it, waiting for a pass in progress."""
    if settings.reconcile_interval <= 0:
        return lambda: None
    ready = threading.Event()
    holder: dict[str, object] = {}

    async def main() -> None:
        stop = asyncio.Event()
        holder["loop"], holder["stop"] = asyncio.get_running_loop(), stop
        ready.set()
        redis = async_redis(settings, max_connections=4)
        reconciler = Reconciler(
            TaskStore(redis, ttl=settings.task_ttl),
            broker=broker,
            interval=settings.reconcile_interval,
            max_requeues=settings.reconcile_max_requeues,
            notify=notify,
        )
        try:
            await reconciler.run(stop)
        finally:
            await redis.aclose()

    def run() -> None:
        try:
            asyncio.run(main())
        except Exception:
            log.exception("the reconciler stopped")
            ready.set()

    thread = threading.Thread(target=run, name="reconciler", daemon=True)
    thread.start()
    ready.wait(timeout=5)

    def stop() -> None:
        loop, event = holder.get("loop"), holder.get("stop")
        if isinstance(loop, asyncio.AbstractEventLoop) and isinstance(event, asyncio.Event):
            loop.call_soon_threadsafe(event.set)
        thread.join(timeout=10)

    return stop

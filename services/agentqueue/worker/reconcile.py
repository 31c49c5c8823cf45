"""The reconciler of a worker process: a thread with its own event loop and Redis pool.

Every worker process runs one (``core/tasks/reconciler.py``; the gateway runs one too),
so that a task whose message was lost — this worker's or any other's — is requeued
within about two intervals; passes of several processes never overlap (a Redis lock)
and could not double-enqueue if they did.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from agentqueue.core.base.redisconn import async_redis
from agentqueue.core.queues.broker import TaskBroker
from agentqueue.core.tasks.reconciler import Notify, Reconciler
from agentqueue.core.tasks.store import TaskStore
from agentqueue.worker.background import start_loop_thread
from agentqueue.worker.settings import WorkerSettings


def start_reconciler(
    settings: WorkerSettings, broker: TaskBroker, notify: Notify | None = None
) -> Callable[[], None]:
    """Start the reconciler thread (none when ``reconcile_interval`` is 0); returns the
    function that stops it, waiting for a pass in progress."""
    if settings.reconcile_interval <= 0:
        return lambda: None

    async def body(stop: asyncio.Event) -> None:
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

    return start_loop_thread("reconciler", body, join_timeout=10)

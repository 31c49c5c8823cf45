"""The batch loop of a worker process: a thread with its own event loop, Redis pool and
SDK clients, flushing pending requests into provider batches and applying ended ones
(``core/batches/processor.py``). Every worker with the batch path on runs one; a Redis
lock lets one pass run at a time, and a restarted worker simply resumes: open batches
live in Redis only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal

from agentqueue.core.base.priority import Priority
from agentqueue.core.base.redisconn import async_redis
from agentqueue.core.batches.collector import BatchCollector, BatchPolicy
from agentqueue.core.batches.processor import BatchProcessor
from agentqueue.core.calls.registry import build_providers, catalog_for
from agentqueue.core.queues.broker import TaskBroker, stamped, task_message
from agentqueue.core.tasks.model import TaskRecord, TaskState
from agentqueue.core.tasks.store import TaskStore
from agentqueue.worker.agents.completion import completion_result
from agentqueue.worker.background import start_loop_thread
from agentqueue.worker.metrics import observe_task, task_finished
from agentqueue.worker.settings import WorkerSettings


def batch_policy(settings: WorkerSettings) -> BatchPolicy:
    return BatchPolicy(
        max_requests=settings.batch_max_requests,
        max_bytes=settings.batch_max_bytes,
        max_age=settings.batch_max_age,
        poll_interval=settings.batch_poll_interval,
        poll_max=settings.batch_poll_max,
        max_retries=settings.batch_max_retries,
        retry_online=settings.batch_retry_online,
        enqueued_tokens=dict(settings.batch_enqueued_tokens),
    )


def build_collector(settings: WorkerSettings, store: TaskStore) -> BatchCollector:
    """The runner's collector (it only builds request lines: no network)."""
    return BatchCollector(
        store,
        build_providers(settings),
        catalog_for(settings),
        provider=settings.batch_provider,
        policy=batch_policy(settings),
    )


def online_enqueuer(broker: TaskBroker) -> Callable[[str, Priority], Awaitable[None]]:
    """A task message (the marker moved to it by the broker): a request retried online."""

    async def enqueue(task_id: str, priority: Priority) -> None:
        await asyncio.to_thread(broker.enqueue, stamped(task_message(task_id, priority)))

    return enqueue


def count_finished(record: TaskRecord) -> None:
    """A task a batch finished, in the worker's task metrics like one it ran online (no
    run time: the task's time was the provider's batch window, not a worker's)."""
    status = record.state.value
    task_finished(record.spec.priority.value, record.spec.kind, status, None)
    if record.state is TaskState.SUCCEEDED:
        observe_task(
            record.spec.kind, sum((c.cost_usd for c in record.calls), Decimal(0)), len(record.calls)
        )


def start_batch_loop(
    settings: WorkerSettings,
    broker: TaskBroker,
    notify: Callable[[str, Priority], Awaitable[None]] | None = None,
) -> Callable[[], None]:
    """Start the batch thread (none unless ``batch_api``); returns the function that
    stops it, waiting for a pass in progress."""
    if not settings.batch_api:
        return lambda: None

    async def body(stop: asyncio.Event) -> None:
        redis = async_redis(settings, max_connections=4)
        collector = build_collector(settings, TaskStore(redis, ttl=settings.task_ttl))
        processor = BatchProcessor(
            collector,
            to_result=completion_result,
            requeue=online_enqueuer(broker),
            notify=notify,
            on_finished=count_finished,
        )
        try:
            await processor.run(stop, interval=settings.batch_loop_interval)
        finally:
            await redis.aclose()

    return start_loop_thread("batches", body, join_timeout=30)

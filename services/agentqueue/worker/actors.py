"""The Dramatiq actors of a worker, bound to a broker at start-up.

``run_task`` runs a task; ``deliver_webhook`` POSTs a finished task to its webhook URL,
one attempt per run. Both live on the worker's own queue (the task's priority), and both
are registered by a function rather than at import time, so that the broker (and its
queue) is chosen by settings, not by a module-level global.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import CurrentMessage

from agentqueue.core.base.priority import Priority
from agentqueue.core.queues.broker import RUN_TASK_ACTOR, WEBHOOK_ACTOR, queue_name, webhook_message
from agentqueue.core.tasks.webhook_delivery import WebhookSender
from agentqueue.worker.metrics import queue_waited
from agentqueue.worker.runner import RetryLater, TaskFailed, TaskRunner
from agentqueue.worker.settings import WorkerSettings
from agentqueue.worker.tracing import task_run


def register_run_task(broker: RedisBroker, settings: WorkerSettings, runner: TaskRunner) -> Any:
    """Declare ``run_task`` on ``settings.queue``, running tasks with ``runner``.

    The runner's clients are created before the worker starts (SDK imports and client
    set-up cost seconds, which must not land on the first task) and bind lazily to the
    Dramatiq event-loop thread on first use.
    """

    async def run_task(task_id: str) -> None:
        message = CurrentMessage.get_current_message()
        retries_done = message.options.get("retries", 0) if message else 0
        if message is not None:  # from when it was ready: queued, or its retry delay over
            ready_ms = max(int(message.message_timestamp), int(message.options.get("eta", 0)))
            queue_waited(settings.queue.value, time.time() - ready_ms / 1000)
        try:
            with task_run(message, task_id):  # queue wait and task spans (tracing on)
                await runner.run(
                    task_id,
                    retries_done=retries_done,
                    retries_left=settings.max_retries - retries_done,
                )
        except RetryLater as retry:
            raise dramatiq.Retry(retry.error.message, delay=int(retry.delay * 1000)) from retry

    declare = dramatiq.actor(
        actor_name=RUN_TASK_ACTOR,
        queue_name=queue_name(settings.queue),
        broker=broker,
        max_retries=settings.max_retries,
        throws=(TaskFailed,),
        time_limit=int(settings.task_time_limit * 1000),
    )
    return declare(run_task)


def register_deliver_webhook(
    broker: RedisBroker, settings: WorkerSettings, sender: WebhookSender
) -> Any:
    """Declare ``deliver_webhook`` on ``settings.queue``: one attempt per message run.

    The sender counts attempts on the task record and picks each delay; Dramatiq only
    schedules the next run (``Retry(delay=...)``). Its own retry budget is a backstop
    for errors outside an attempt (Redis down), with the same backoff floor.
    """

    async def deliver_webhook(task_id: str) -> None:
        delay = await sender.deliver(task_id)
        if delay is not None:
            raise dramatiq.Retry(
                f"webhook of {task_id}: next attempt in {delay:.1f}s", delay=int(delay * 1000)
            )

    declare = dramatiq.actor(
        actor_name=WEBHOOK_ACTOR,
        queue_name=queue_name(settings.queue),
        broker=broker,
        max_retries=settings.webhook_max_attempts,
        min_backoff=int(settings.webhook_backoff * 1000),
        max_backoff=int(settings.webhook_backoff_max * 1000),
        time_limit=int((settings.webhook_timeout * 3 + 30) * 1000),
    )
    return declare(deliver_webhook)


def webhook_enqueuer(broker: RedisBroker) -> Callable[[str, Priority], Awaitable[None]]:
    """What the runner calls when a task with a webhook finishes: queue its delivery."""

    async def enqueue(task_id: str, priority: Priority) -> None:
        # Dramatiq's broker is synchronous; a thread keeps the event loop serving tasks.
        await asyncio.to_thread(broker.enqueue, webhook_message(task_id, priority))

    return enqueue

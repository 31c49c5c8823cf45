"""The Dramatiq actor that runs tasks, bound to a broker at start-up.

The actor is registered by :func:`register_run_task` rather than at import time, so
that the broker (and its queue) is chosen by settings, not by a module-level global.
"""

from __future__ import annotations

from typing import Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import CurrentMessage

from agentqueue.core.broker import RUN_TASK_ACTOR, queue_name
from agentqueue.worker.runner import RetryLater, TaskFailed, TaskRunner
from agentqueue.worker.settings import WorkerSettings


def register_run_task(broker: RedisBroker, settings: WorkerSettings, runner: TaskRunner) -> Any:
    """Declare ``run_task`` on ``settings.queue``, running tasks with ``runner``.

    The runner's clients are created before the worker starts (SDK imports and client
    set-up cost seconds, which must not land on the first task) and bind lazily to the
    Dramatiq event-loop thread on first use.
    """

    async def run_task(task_id: str) -> None:
        message = CurrentMessage.get_current_message()
        retries_done = message.options.get("retries", 0) if message else 0
        try:
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

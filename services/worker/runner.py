"""Runs one task from its record to a terminal state, or asks for a retry.

The runner owns the task's life in the worker: it claims the record (a finished task is
never run again, whatever the broker redelivers), runs the agent with a context that
records every LLM call, and maps the outcome:

- success → ``succeeded`` with the result (exactly once, by compare-and-set);
- a transient failure with retries left → back to ``queued`` and :class:`RetryLater`
  with the provider's retry-after (or exponential backoff), for Dramatiq to schedule;
- anything else → ``failed`` with a readable error and :class:`TaskFailed`, which the
  actor lets Dramatiq dead-letter.
"""

from __future__ import annotations

import logging
import random

from agentqueue.core.errors import (
    AgentQueueError,
    NoProviderAvailable,
    ProviderError,
    QuotaExceeded,
)
from agentqueue.core.fallback import FallbackChain
from agentqueue.core.messages import Completion, CompletionRequest
from agentqueue.core.queue_usage import record_usage
from agentqueue.core.tasks import CallRecord, TaskError
from agentqueue.core.taskstore import TaskStore
from agentqueue.worker.agents import AgentContext, get_agent
from agentqueue.worker.metrics import LLM_CALLS, TASK_COST, TASKS_FINISHED

log = logging.getLogger(__name__)


class RetryLater(Exception):
    """The task failed transiently; run it again in ``delay`` seconds."""

    def __init__(self, delay: float, error: TaskError) -> None:
        super().__init__(f"retry in {delay:.1f}s: {error.message}")
        self.delay = delay
        self.error = error


class TaskFailed(Exception):
    """The task failed for good; its record says why."""


def _task_error(exc: BaseException) -> TaskError:
    retryable = isinstance(exc, AgentQueueError) and exc.retryable
    if isinstance(exc, AgentQueueError):
        message = str(exc)
    else:
        message = f"internal error in the worker: {type(exc).__name__}: {exc}"
    return TaskError(type=type(exc).__name__, message=message, retryable=retryable)


def _retry_after(exc: BaseException) -> float | None:
    if isinstance(exc, NoProviderAvailable):
        return exc.retry_after
    return getattr(exc, "retry_after", None)


class TaskRunner:
    def __init__(
        self,
        store: TaskStore,
        chain: FallbackChain,
        *,
        backoff: float = 2.0,
        backoff_max: float = 120.0,
    ) -> None:
        self.store = store
        self.chain = chain
        self.backoff = backoff
        self.backoff_max = backoff_max

    def _delay(self, exc: BaseException, retries_done: int) -> float:
        asked = _retry_after(exc)
        if asked is not None:
            # Never earlier than asked; a little jitter so waiters don't return in a herd.
            return asked + random.uniform(0, min(1.0, asked * 0.1))
        ceiling = min(self.backoff_max, self.backoff * 2**retries_done)
        return random.uniform(ceiling / 2, ceiling)

    async def run(self, task_id: str, *, retries_done: int, retries_left: int) -> None:
        record = await self.store.start(task_id)
        if record is None:
            log.info("task %s already finished; duplicate delivery ignored", task_id)
            return
        log.info(
            "task %s started (attempt %d, kind %s)", task_id, record.attempts, record.spec.kind
        )

        cost = record.cost_usd  # calls of earlier attempts were paid for too
        queue_redis, queue = self.store.redis, record.spec.priority.value  # for the autoscaler

        async def call(request: CompletionRequest) -> Completion:
            nonlocal cost
            result = await self.chain.complete(request, record.spec.priority, record.tenant)
            cost += result.cost_usd
            completion = result.completion
            LLM_CALLS.labels(completion.provider, completion.model).inc()
            await record_usage(queue_redis, queue, tokens=completion.usage.total_tokens)
            await self.store.add_call(
                task_id,
                CallRecord(
                    provider=completion.provider,
                    model=completion.model,
                    usage=completion.usage,
                    cost_usd=result.cost_usd,
                    latency_s=sum(a.latency_s for a in result.attempts),
                    attempts=result.attempts,
                ),
            )
            return completion

        try:
            agent = get_agent(record.spec.kind)
            result = await agent.run(record.spec, AgentContext(task_id, call))
        except Exception as exc:
            error = _task_error(exc)
            transient = (
                isinstance(exc, ProviderError | NoProviderAvailable | QuotaExceeded)
                and error.retryable
            )
            if transient and retries_left > 0:
                delay = self._delay(exc, retries_done)
                await self.store.requeued(task_id, error)
                log.warning("task %s: %s; retrying in %.1fs", task_id, error.message, delay)
                raise RetryLater(delay, error) from exc
            if not isinstance(exc, AgentQueueError):
                log.exception("task %s failed with an unexpected error", task_id)
            await self.store.fail(task_id, error)
            TASKS_FINISHED.labels(record.spec.priority.value, "failed").inc()
            log.error("task %s failed: %s", task_id, error.message)
            raise TaskFailed(error.message) from exc
        finally:
            await record_usage(queue_redis, queue, messages=1)
        if await self.store.succeed(task_id, result):
            TASKS_FINISHED.labels(record.spec.priority.value, "succeeded").inc()
            TASK_COST.observe(float(cost))
            log.info("task %s succeeded via %s/%s", task_id, result.provider, result.model)
        else:
            log.info("task %s finished elsewhere first; this run's result dropped", task_id)

"""Runs one task from its record to a terminal state, or asks for a retry.

The runner owns the task's life in the worker: it claims the record (a finished task is
never run again, whatever the broker redelivers), runs the agent with a context that
records every LLM call, and maps the outcome:

- success → ``succeeded`` with the result (exactly once, by compare-and-set);
- a transient failure with retries left → back to ``queued`` and :class:`RetryLater`
  with the provider's retry-after (or exponential backoff), for Dramatiq to schedule;
- anything else → ``failed`` with a readable error and :class:`TaskFailed`, which the
  actor lets Dramatiq dead-letter;
- cancelled by the client → stop before the next LLM call (:class:`TaskCancelled`) and
  leave the record as the gateway wrote it: nothing is recorded as failed. A call
  already in flight finishes and is recorded: it was paid for.

Redis may blink under a run: every write here goes through a client that retries a
failed connection for ``redis_retry_seconds`` (``core/base/redisconn.py``), and the
store's writes are idempotent under that retry (a call carries its id; a terminal write
knows its attempt), so a Redis restart of a few seconds loses no call and no outcome.
A write that still fails escapes the actor: Dramatiq retries the message, and if even
that cannot be enqueued the reconciler (``core/tasks/reconciler.py``) requeues the task.

Each step is appended to the task's event log (``core.tasks.events``) next to where it is
recorded: ``started``, ``fallback`` and ``llm_call`` per call, ``retry``, and the
terminal ``succeeded``/``failed``. A task that reaches a terminal state here with a
webhook URL gets its delivery queued through ``notify``.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from agentqueue.core.base.errors import (
    AgentQueueError,
    BadRequest,
    BudgetExceeded,
    ContextOverflow,
    LimiterUnavailable,
    NoProviderAvailable,
    ProviderError,
    QuotaExceeded,
)
from agentqueue.core.base.priority import Priority
from agentqueue.core.batches.collector import BatchCollector
from agentqueue.core.calls.pipeline import Completer
from agentqueue.core.llm.call_result import CallResult
from agentqueue.core.llm.messages import Completion, CompletionRequest
from agentqueue.core.queues.usage import record_usage
from agentqueue.core.tasks.events import EventType, TaskEvents
from agentqueue.core.tasks.model import CallRecord, TaskError, TaskRecord, TaskResult, WebhookState
from agentqueue.core.tasks.store import TaskStore
from agentqueue.core.telemetry.context import current_task_id
from agentqueue.worker.agents import AgentContext, CallInfo, TaskCancelled, get_agent
from agentqueue.worker.agents.base import CallFn
from agentqueue.worker.agents.runtime import AgentRuntime
from agentqueue.worker.metrics import (
    TASK_COST,
    observe_task,
    task_finished,
    task_retried,
)
from agentqueue.worker.tracing import name_task_span

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
    elif isinstance(exc, _STATE_UNREACHABLE):
        retryable = True
        message = f"Redis could not be reached in time: {type(exc).__name__}: {exc}"
    else:
        message = f"internal error in the worker: {type(exc).__name__}: {exc}"
    return TaskError(type=type(exc).__name__, message=message, retryable=retryable)


def _fallbacks(tries: Sequence[tuple[str, str, str | None]]) -> list[dict[str, Any]]:
    """One ``fallback`` event per failed try that another try followed."""
    return [
        {
            "from_provider": provider,
            "from_model": model,
            "to_provider": tries[i + 1][0],
            "to_model": tries[i + 1][1],
            "reason": reason,
        }
        for i, (provider, model, reason) in enumerate(tries[:-1])
    ]


@dataclass
class _Spend:
    """One run's running cost, USD: what the agent's budget checks read (``spent``) and
    the calls add to; a holder so that the call function and the run share it."""

    usd: Decimal


#: Failures the task's own request or its tenant caused (a bad request, its cost cap, a
#: context too long, the tenant's quota): logged at INFO, not WARNING or ERROR.
_CLIENT_CAUSED = (BadRequest, BudgetExceeded, ContextOverflow, QuotaExceeded)

#: Errors of the shared state, not of the task: Redis away, or no pooled connection free
#: within the pool's timeout under a burst. Trying the task again later is the answer; a
#: task failed for them would be a 202 broken by our own infrastructure.
_STATE_UNREACHABLE = (RedisConnectionError, RedisTimeoutError, LimiterUnavailable)

#: What a task is retried for (when the error says trying again can help).
_TRANSIENT = (ProviderError, NoProviderAvailable, QuotaExceeded, *_STATE_UNREACHABLE)


#: When this run of a task began (monotonic): set by :meth:`TaskRunner.run`, in the run's
#: own asyncio task (the record's ``started_at`` is its first run's).
_run_started: ContextVar[float | None] = ContextVar("agentqueue_run_started", default=None)


def _run_seconds(_record: TaskRecord) -> float | None:
    """Seconds this run of the task has taken so far."""
    started = _run_started.get()
    return time.monotonic() - started if started is not None else None


def _retry_after(exc: BaseException) -> float | None:
    if isinstance(exc, NoProviderAvailable):
        return exc.retry_after
    return getattr(exc, "retry_after", None)


class TaskRunner:
    def __init__(
        self,
        store: TaskStore,
        chain: Completer,  # a CallPipeline (cache in front) or a bare FallbackChain
        *,
        backoff: float = 2.0,
        backoff_max: float = 120.0,
        events: TaskEvents | None = None,
        notify: Callable[[str, Priority], Awaitable[None]] | None = None,
        runtime: AgentRuntime | None = None,
        batches: BatchCollector | None = None,
    ) -> None:
        self.store = store
        #: The batch path (``core/batches``), on a worker whose queue has it on: a
        #: one-call task's request goes to a provider batch, not online.
        self.batches = batches
        self.chain = chain
        self.backoff = backoff
        self.backoff_max = backoff_max
        self.events = events or TaskEvents(store.redis, ttl=store.ttl)
        #: Queues the webhook delivery of a task that finished here (task id, queue).
        self.notify = notify
        #: Catalog, token counter, routing and context policy the agents share.
        self.runtime = runtime or AgentRuntime.for_completer(chain)

    async def _finished(self, task_id: str, priority: Priority, webhook: bool) -> None:
        """Queue the webhook, if the task has one (its terminal event was written with
        its terminal state, by the store)."""
        if webhook and self.notify is not None:
            try:
                await self.notify(task_id, priority)
            except Exception:
                log.exception("task %s: its webhook could not be queued", task_id)

    async def _owed_after_finish(self, task_id: str) -> None:
        """A finished task delivered again may be one whose worker died right after
        writing its terminal state: publish the terminal event if its log lacks it, and
        queue the webhook if it never was."""
        record = await self.store.get(task_id)
        if not record.state.terminal:
            return
        try:
            if await self.events.publish_terminal_if_missing(record):
                log.warning("task %s: finished without its terminal event; published", task_id)
        except RedisError as exc:
            log.warning("task %s: terminal event not repaired: %s", task_id, exc)
        await self._webhook_not_queued(record)

    async def _webhook_not_queued(self, record: TaskRecord) -> None:
        """Queue the webhook of a finished task if no attempt was ever made (a delivery
        already queued but not yet tried is queued twice — webhooks are at least once,
        receivers deduplicate on ``webhook-id``)."""
        if self.notify is None:
            return
        task_id = record.id
        hook = record.webhook
        never_tried = hook is not None and hook.state is WebhookState.PENDING and not hook.attempts
        if record.state.terminal and never_tried:
            log.warning("task %s: finished without its webhook queued; queueing it", task_id)
            await self.notify(task_id, record.spec.priority)

    def _delay(self, exc: BaseException, retries_done: int) -> float:
        asked = _retry_after(exc)
        if asked is not None:
            # Never earlier than asked; a little jitter so waiters don't return in a herd.
            return asked + random.uniform(0, min(1.0, asked * 0.1))
        ceiling = min(self.backoff_max, self.backoff * 2**retries_done)
        return random.uniform(ceiling / 2, ceiling)

    async def run(self, task_id: str, *, retries_done: int, retries_left: int) -> None:
        """Run the task once: claim it, run its agent, record how that ended.

        Returns when the task succeeded, was cancelled, or is not this run's to finish;
        raises :class:`RetryLater` or :class:`TaskFailed` (see the module docstring).
        """
        # the LLM calls' log lines name the task (this run is its own asyncio task: the
        # value goes with it, and every step the agent starts inherits it)
        current_task_id.set(task_id)
        _run_started.set(time.monotonic())
        record = await self._claim(task_id)
        if record is None:
            return
        name_task_span(record)  # "task <kind>" (tracing on)
        if self.batches is not None and self.batches.eligible(record, queue_on=True):
            try:
                await self._to_batch(record)
            except Exception as exc:  # Redis down, a request the provider cannot take
                await self._retry_or_fail(record, exc, retries_done, retries_left)
            return
        spend = _Spend(record.cost_usd)  # calls of earlier attempts were paid for too
        try:
            agent = get_agent(record.spec.kind)
            ctx = AgentContext(
                task_id,
                self._call_fn(record, spend),
                spec=record.spec,
                runtime=self.runtime,
                spent=lambda: spend.usd,
                tenant=record.tenant,
                redis=self.store.redis,
            )
            result = await agent.run(record.spec, ctx)
        except TaskCancelled:
            log.info("task %s cancelled; stopped before its next LLM call", task_id)
            priority = record.spec.priority.value
            task_finished(priority, record.spec.kind, "cancelled", _run_seconds(record))
            return
        except Exception as exc:
            await self._retry_or_fail(record, exc, retries_done, retries_left)
            return
        finally:  # one message handled on the task's queue, for the autoscaler
            await record_usage(self.store.redis, record.spec.priority.value, messages=1)
        await self._succeed(record, result, spend.usd, ctx.calls)

    async def _to_batch(self, record: TaskRecord) -> None:
        """Hand the task to a provider batch; the message is then acked (the batch records
        own the task until its result is applied, ``core/batches/processor.py``)."""
        assert self.batches is not None
        if await self.batches.collect(record):
            log.info("task %s waits on a provider batch", record.id)
        else:
            log.info("task %s is a batch's already; duplicate delivery acked", record.id)
        await record_usage(self.store.redis, record.spec.priority.value, messages=1)

    async def _claim(self, task_id: str) -> TaskRecord | None:
        """Mark the task running and announce it; None when it already finished.

        Apart because a duplicate delivery ends here — the broker may deliver a finished
        task again, which must never run twice (only its webhook may still be owed).
        """
        record = await self.store.start(task_id)
        if record is None:
            log.info("task %s already finished; duplicate delivery ignored", task_id)
            await self._owed_after_finish(task_id)
            return None
        log.info(
            "task %s started (attempt %d, kind %s)", task_id, record.attempts, record.spec.kind
        )
        await self.events.try_publish(task_id, EventType.STARTED, {"attempt": record.attempts})
        return record

    def _call_fn(self, record: TaskRecord, spend: _Spend) -> CallFn:
        """The LLM call this run hands its agent: stop if the task was cancelled, call
        through the pipeline, add the cost to ``spend``, record the call.

        A function of its own because the agent calls it many times, long after
        :meth:`run` set it up; the cancellation check sits here, before each call.
        """

        async def call(request: CompletionRequest, info: CallInfo | None = None) -> Completion:
            if await self.store.is_cancelled(record.id):
                raise TaskCancelled(f"task {record.id} was cancelled")
            result = await self.chain.complete(
                request,
                record.spec.priority,
                record.tenant,
                record_usage=False,
                key_id=record.key_id,  # the key's own quotas are charged too
            )
            spend.usd += result.cost_usd
            await self._record_call(record, result, info)
            return result.completion

        return call

    async def _record_call(
        self, record: TaskRecord, result: CallResult, info: CallInfo | None
    ) -> None:
        """Count one answered call: metrics, queue usage, the task's call record, and its
        ``fallback`` and ``llm_call`` events.

        Apart from :meth:`_call_fn` because it is bookkeeping after the fact: the call
        was paid for, so it is recorded whatever the agent does next.
        """
        completion = result.completion
        latency = sum(a.latency_s for a in result.attempts)
        await record_usage(
            self.store.redis, record.spec.priority.value, tokens=completion.usage.total_tokens
        )
        await self.store.add_call(
            record.id,
            CallRecord(
                provider=completion.provider,
                model=completion.model,
                usage=completion.usage,
                cost_usd=result.cost_usd,
                latency_s=latency,
                attempts=result.attempts,
                step=info.step if info else None,
                route=info.route if info else None,
                prices_as_of=self.runtime.catalog.prices_as_of,
                cached=result.cached,
                saved_usd=result.saved_usd,
            ),
            ledger=result.cached is None,  # the chain left it to us: a cache hit cost nothing
        )
        await self._publish_fallbacks(
            record.id, [(a.provider, a.model, a.error_type) for a in result.attempts]
        )
        await self.events.try_publish(
            record.id,
            EventType.LLM_CALL,
            {
                "provider": completion.provider,
                "model": completion.model,
                "usage": completion.usage.model_dump(),
                "cost_usd": float(result.cost_usd),
                "latency_s": round(latency, 4),
                "failed_attempts": [a.model_dump(mode="json") for a in result.attempts if not a.ok],
                "step": info.step if info else None,
                "cached": result.cached,
            },
        )

    async def _publish_fallbacks(
        self, task_id: str, tries: Sequence[tuple[str, str, str | None]]
    ) -> None:
        """One ``fallback`` event per failed try that another try followed.

        Shared by an answered call and by a call on which every provider failed."""
        for fallback in _fallbacks(tries):
            await self.events.try_publish(task_id, EventType.FALLBACK, fallback)

    async def _retry_or_fail(
        self, record: TaskRecord, exc: Exception, retries_done: int, retries_left: int
    ) -> None:
        """Map the agent's error: a transient one with retries left requeues the task and
        raises :class:`RetryLater`; anything else fails it and raises :class:`TaskFailed`.
        Returns (no raise) only when the task finished meanwhile, cancelled by the client.

        Apart from :meth:`run` because this mapping — what is retried, after how long,
        what is final — is the runner's policy, read and changed on its own.
        """
        task_id = record.id
        if isinstance(exc, NoProviderAvailable):
            await self._publish_fallbacks(
                task_id, [(a.provider, a.model, type(a).__name__) for a in exc.attempts]
            )
        error = _task_error(exc)
        transient = isinstance(exc, _TRANSIENT) and error.retryable
        if transient and retries_left > 0:
            delay = self._delay(exc, retries_done)
            if not await self.store.requeued(task_id, error):
                log.info("task %s finished meanwhile (cancelled?); no retry", task_id)
                return
            await self.events.try_publish(
                task_id,
                EventType.RETRY,
                {"delay_s": round(delay, 3), "error": error.model_dump()},
            )
            level = logging.INFO if isinstance(exc, _CLIENT_CAUSED) else logging.WARNING
            log.log(level, "task %s: %s; retrying in %.1fs", task_id, error.message, delay)
            task_retried(record.spec.priority.value, record.spec.kind, _run_seconds(record) or 0.0)
            raise RetryLater(delay, error) from exc
        if not isinstance(exc, AgentQueueError):
            log.exception("task %s failed with an unexpected error", task_id)
        if not await self.store.fail(task_id, error, attempt=record.attempts):
            log.info("task %s finished meanwhile (cancelled?); failure dropped", task_id)
            return
        task_finished(record.spec.priority.value, record.spec.kind, "failed", _run_seconds(record))
        # a task the client got wrong (bad request, its own cost cap, a context too long)
        # is the client's to fix: not an ERROR for the operator
        level = logging.INFO if isinstance(exc, _CLIENT_CAUSED) else logging.ERROR
        log.log(level, "task %s failed: %s", task_id, error.message)
        await self._finished(task_id, record.spec.priority, bool(record.spec.webhook_url))
        raise TaskFailed(error.message) from exc

    async def _succeed(
        self, record: TaskRecord, result: TaskResult, cost: Decimal, calls: int
    ) -> None:
        """Record the result, unless another run finished the task first (compare-and-set:
        a task succeeds exactly once), then count it and announce it."""
        task_id = record.id
        if not await self.store.succeed(task_id, result, attempt=record.attempts):
            log.info("task %s finished elsewhere first; this run's result dropped", task_id)
            return
        priority = record.spec.priority.value
        task_finished(priority, record.spec.kind, "succeeded", _run_seconds(record))
        TASK_COST.observe(float(cost))
        observe_task(record.spec.kind, cost, calls)
        log.info("task %s succeeded via %s/%s", task_id, result.provider, result.model)
        await self._finished(task_id, record.spec.priority, bool(record.spec.webhook_url))

"""A task's run as spans of the trace that submitted it: ``queue wait``, then ``task <kind>``.

Why here: only the worker knows both ends of the wait — the message says when it was
queued (Dramatiq's ``message_timestamp``, or its ``eta`` once a retry's delay is over)
and the worker when it took it — and the message carries the submitting request's trace
context (its ``trace`` option, ``core/tasks/submission.py``). So each run of a task
adds two spans to that trace, siblings under the gateway's request span:

- ``queue wait``, started at the enqueue time and ended when the worker took the
  message: a span with an explicit start, made once its end is known;
- ``task <kind>`` (kind CONSUMER), current while the runner runs, so every LLM call's
  span (``core/calls/spans.py``) is its child. A Dramatiq retry is another run of the
  same message, its options kept: another pair in the same trace. Its status is ERROR
  when the run failed or asked for a retry.

A message without a trace (tracing was off at the gateway, the reconciler's requeue)
starts a new trace here. With tracing off in the worker, nothing is done at all.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dramatiq
from opentelemetry import trace
from opentelemetry.trace import SpanKind

from agentqueue.core.tasks.model import TaskRecord
from agentqueue.core.telemetry import tracing


def _enqueued_ns(message: dramatiq.Message[Any], now_ns: int) -> int:
    """When the message became ready to run (ns): queued, or its retry delay over."""
    ready_ms = max(int(message.message_timestamp), int(message.options.get("eta", 0)))
    return min(ready_ms * 1_000_000, now_ns)


@contextmanager
def task_run(message: dramatiq.Message[Any] | None, task_id: str) -> Iterator[None]:
    """Spans of one run of ``task_id``'s message (see the module docstring)."""
    tracer = tracing.tracer()
    if tracer is None or message is None:
        yield
        return
    parent = tracing.extract(message.options.get("trace"))
    now_ns = time.time_ns()
    attributes: dict[str, str | int] = {
        "messaging.system": "dramatiq",
        "messaging.destination.name": message.queue_name,
        "messaging.message.id": message.message_id,
        "agentqueue.task_id": task_id,
        "agentqueue.retries": int(message.options.get("retries", 0)),
    }
    queued_ns = _enqueued_ns(message, now_ns)
    wait = tracer.start_span(
        "queue wait", context=parent, start_time=queued_ns, attributes=attributes
    )
    wait.end(end_time=now_ns)
    with tracer.start_as_current_span(
        "task", context=parent, kind=SpanKind.CONSUMER, start_time=now_ns, attributes=attributes
    ):
        yield


def name_task_span(record: TaskRecord) -> None:
    """Name the current ``task`` span after the task's kind, once the record is read."""
    span = trace.get_current_span()
    if not span.is_recording():  # tracing off, or no task span
        return
    span.update_name(f"task {record.spec.kind}")
    span.set_attributes(
        {
            "agentqueue.kind": record.spec.kind,
            "agentqueue.tenant": record.tenant,
            "agentqueue.priority": record.spec.priority.value,
            "agentqueue.attempt": record.attempts,
        }
    )


__all__ = ["name_task_span", "task_run"]

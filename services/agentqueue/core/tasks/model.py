"""The task model: what a client asks for, and the record of what happened.

A task is one run of an *agent* (``kind``) over an input. The simplest agent,
``completion``, makes one LLM call; multi-step agents and sessions make many, each one
appended to ``calls`` so that usage and cost add up per call and per task. The record is
the single source of truth a client polls; the queue message carries only the task id.

A task ends in exactly one terminal state: ``succeeded``, ``failed`` or ``cancelled``
(the client asked; a queued task never runs, a running one stops before its next call).
When the spec names a ``webhook_url``, the record also keeps every delivery attempt of
the completion webhook, so the client can see what its receiver answered.
"""

from __future__ import annotations

import time
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_serializer, model_validator

from agentqueue.core.base.ids import random_id
from agentqueue.core.base.priority import Priority
from agentqueue.core.llm.call_result import Attempt
from agentqueue.core.llm.messages import CompletionRequest, ToolCall, Usage
from agentqueue.core.llm.routing import RouteDecision, TierChoice


class TaskState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in (TaskState.SUCCEEDED, TaskState.FAILED, TaskState.CANCELLED)


class TaskSpec(BaseModel):
    """What to run. Stored with the record so the queue message can stay tiny."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str = "completion"
    priority: Priority = Priority.STANDARD
    input: CompletionRequest
    metadata: dict[str, str] = Field(default_factory=dict)
    #: Where the finished task is POSTed (signed); checked against private addresses.
    webhook_url: str | None = None
    #: Stop the task before a call that could take its cost past this (USD).
    max_cost_usd: Decimal | None = None
    #: The agent's own parameters (``questions`` for map_reduce, ``schema`` for extract).
    params: dict[str, Any] = Field(default_factory=dict)
    #: ``auto``: route each call by the routing rules (``input.tier`` is then only the
    #: fallback default). None: every call uses ``input.tier``.
    tier_choice: TierChoice | None = None
    #: Run the task's LLM call through the provider's batch API (half price, answered
    #: within the provider's window, up to 24 h): ``completion`` tasks only, on a worker
    #: with the batch path on (``core/batches``). False: the worker's setting decides.
    batch_api: bool = Field(default=False, exclude_if=lambda v: not v)  # records stay as small


class CallRecord(BaseModel):
    """One LLM call made by a task, after fallback: who answered, what it cost."""

    #: Made once per call by the worker: recording the call again (a reply lost in a
    #: Redis blink, then retried) finds it already there and adds nothing.
    id: str = Field(default_factory=lambda: random_id())
    provider: str
    model: str
    usage: Usage
    cost_usd: Decimal
    latency_s: float
    attempts: list[Attempt]
    #: The agent step that made the call (``map:2``, ``reduce``, ``compact``…).
    step: str | None = None
    #: How the call's tier was chosen (``auto`` routing records its rule).
    route: RouteDecision | None = None
    #: The catalog's price date the cost was computed with.
    prices_as_of: str | None = None
    #: "exact" or "semantic" when our cache answered (then the call cost nothing) …
    cached: str | None = None
    #: … and what that answer cost when it was first bought (left out when nothing).
    saved_usd: Decimal = Field(default=Decimal(0), exclude_if=lambda v: not v)

    # A task keeps every call for its record's whole TTL, millions of records at scale:
    # zero counters and sub-0.1 ms digits are left out of what is stored.
    @field_serializer("usage")
    def _usage_without_zeros(self, usage: Usage) -> dict[str, int]:
        return usage.model_dump(exclude_defaults=True)

    @field_serializer("latency_s")
    def _latency_to_the_tenth_ms(self, seconds: float) -> float:
        return round(seconds, 4)


class TaskResult(BaseModel):
    text: str
    provider: str
    model: str
    #: Structured output (``extract``: the validated JSON object; a ``completion`` with a
    #: JSON ``response_format``: its answer parsed), when the agent has one.
    data: Any = None
    #: Tool calls the model asked for (a ``completion`` task with ``tools``): the caller
    #: runs them and submits the next turn with their results.
    tool_calls: list[ToolCall] = Field(default_factory=list, exclude_if=lambda v: not v)


class TaskError(BaseModel):
    """A readable failure: ``type`` is our error class, ``message`` says what happened."""

    type: str
    message: str
    retryable: bool = False


class WebhookState(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    #: Given up: attempts exhausted, or the receiver refused for good (4xx).
    FAILED = "failed"


class WebhookAttempt(BaseModel):
    """One POST of the completion webhook: when, how long, and what came back."""

    at: float
    duration_s: float
    #: The receiver's HTTP status; None when no answer came (``error`` says why).
    status_code: int | None = None
    error: str | None = None


class WebhookRecord(BaseModel):
    """The delivery of a task's completion webhook, attempt by attempt."""

    state: WebhookState = WebhookState.PENDING
    attempts: list[WebhookAttempt] = Field(default_factory=list)


def new_task_id() -> str:
    return "task_" + random_id()


class TaskRecord(BaseModel):
    """Everything known about one task; persisted as JSON in Redis."""

    id: str = Field(default_factory=new_task_id)
    tenant: str
    #: The API key that submitted the task: its quotas are charged by the task's calls,
    #: its usage counted (None: submitted before keys were recorded, or from the CLI).
    key_id: str | None = None
    #: Tags its usage is counted under: the key's, then the request's (header
    #: ``x-agentqueue-tags`` and usable ``metadata`` entries), bounded (``core/apikeys.py``).
    tags: dict[str, str] = Field(default_factory=dict, exclude_if=lambda v: not v)
    state: TaskState = TaskState.QUEUED
    spec: TaskSpec
    created_at: float = Field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    #: How many times a worker has started this task (redeliveries and retries count).
    attempts: int = 0
    #: The attempt that made the record terminal (None: the client or the reconciler).
    #: A terminal write replayed after its reply was lost is recognised as its own.
    finished_attempt: int | None = None
    result: TaskResult | None = None
    error: TaskError | None = None
    #: The last transient error, while the task waits to be retried.
    last_error: TaskError | None = None
    calls: list[CallRecord] = Field(default_factory=list)
    #: Present when the spec names a webhook URL.
    webhook: WebhookRecord | None = None

    @field_serializer("created_at", "started_at", "finished_at")
    def _to_the_ms(self, at: float | None) -> float | None:
        return None if at is None else round(at, 3)

    @model_validator(mode="after")
    def _webhook_pending(self) -> TaskRecord:
        if self.spec.webhook_url and self.webhook is None:
            self.webhook = WebhookRecord()
        return self

    @property
    def usage(self) -> Usage:
        total = Usage()
        for call in self.calls:
            total = total + call.usage
        return total

    @property
    def cost_usd(self) -> Decimal:
        return sum((c.cost_usd for c in self.calls), Decimal(0))

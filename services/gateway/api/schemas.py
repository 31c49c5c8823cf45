"""The task API's request and response bodies (what ``/docs`` shows)."""

from __future__ import annotations

import hashlib
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from agentqueue.core.fallback import Attempt
from agentqueue.core.messages import ChatMessage, CompletionRequest, Tier, Usage
from agentqueue.core.priority import Priority
from agentqueue.core.tasks import (
    CallRecord,
    TaskError,
    TaskRecord,
    TaskResult,
    TaskSpec,
    TaskState,
)

MetadataKey = Annotated[str, StringConstraints(min_length=1, max_length=64)]
MetadataValue = Annotated[str, StringConstraints(max_length=512)]


class TaskCreate(BaseModel):
    """A task to run in the background. Only ``messages`` is required."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"messages": [{"role": "user", "content": "Say hi"}]}]},
    )

    messages: list[ChatMessage] = Field(min_length=1, max_length=10_000)
    system: str | None = Field(default=None, max_length=2_000_000)
    kind: str = Field(
        default="completion",
        pattern=r"^[a-z][a-z0-9_]{0,63}$",
        description="The agent that runs the task.",
    )
    priority: Priority = Field(
        default=Priority.STANDARD, description="The queue: high, standard or batch."
    )
    tier: Tier = Field(default=Tier.FRONTIER, description="Model capability the task needs.")
    max_tokens: int = Field(default=1024, ge=1, le=200_000)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    metadata: dict[MetadataKey, MetadataValue] = Field(default_factory=dict, max_length=32)

    def to_spec(self) -> TaskSpec:
        return TaskSpec(
            kind=self.kind,
            priority=self.priority,
            input=CompletionRequest(
                messages=self.messages,
                system=self.system,
                tier=self.tier,
                max_tokens=self.max_tokens,
                temperature=self.temperature,
            ),
            metadata=self.metadata,
        )

    def body_hash(self) -> str:
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()


class TaskAccepted(BaseModel):
    id: str
    status: TaskState
    priority: Priority
    status_url: str


class CallView(BaseModel):
    """One LLM call a task made: who answered, tokens, cost, and every attempt."""

    provider: str
    model: str
    usage: Usage
    cost_usd: float
    latency_s: float
    attempts: list[Attempt]

    @classmethod
    def of(cls, c: CallRecord) -> CallView:
        return cls(
            provider=c.provider,
            model=c.model,
            usage=c.usage,
            cost_usd=float(c.cost_usd),
            latency_s=c.latency_s,
            attempts=c.attempts,
        )


class TaskView(BaseModel):
    """A task as its owner sees it."""

    id: str
    status: TaskState
    kind: str
    priority: Priority
    created_at: float
    started_at: float | None
    finished_at: float | None
    attempts: int
    result: TaskResult | None
    error: TaskError | None
    last_error: TaskError | None
    usage: Usage
    cost_usd: float
    calls: list[CallView]
    metadata: dict[str, str]

    @classmethod
    def of(cls, r: TaskRecord) -> TaskView:
        return cls(
            id=r.id,
            status=r.state,
            kind=r.spec.kind,
            priority=r.spec.priority,
            created_at=r.created_at,
            started_at=r.started_at,
            finished_at=r.finished_at,
            attempts=r.attempts,
            result=r.result,
            error=r.error,
            last_error=r.last_error,
            usage=r.usage,
            cost_usd=float(r.cost_usd),
            calls=[CallView.of(c) for c in r.calls],
            metadata=r.spec.metadata,
        )

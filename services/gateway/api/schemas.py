"""The task API's request and response bodies (what ``/docs`` shows)."""

from __future__ import annotations

import hashlib
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, StringConstraints

from agentqueue.core.messages import ChatMessage, CompletionRequest, Tier
from agentqueue.core.priority import Priority
from agentqueue.core.tasks import TaskSpec, TaskState
from agentqueue.core.taskview import CallView, TaskView

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
    webhook_url: HttpUrl | None = Field(
        default=None,
        description="POSTed the finished task, signed (Standard Webhooks). https only, "
        "and never a private, loopback or link-local address unless the operator allows it.",
    )

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
            webhook_url=str(self.webhook_url) if self.webhook_url else None,
        )

    def body_hash(self) -> str:
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()


class TaskAccepted(BaseModel):
    id: str
    status: TaskState
    priority: Priority
    status_url: str


__all__ = ["CallView", "TaskAccepted", "TaskCreate", "TaskView"]

"""An AgentQueue's spec as a typed value, read from the custom resource's camelCase body.

The CRD's OpenAPI schema already validates and defaults in the API server; this model
repeats the defaults so that an object written before a default existed (or served by a
test API without defaulting) still reads the same, and gives the rest of the operator
attributes instead of dictionary lookups.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from agentqueue.core.base.priority import Priority


class _Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class WorkerSpec(_Camel):
    image: str = Field(min_length=1)
    image_pull_policy: str = "IfNotPresent"
    concurrency: int = Field(default=8, ge=1, le=256)
    resources: dict[str, Any] = Field(default_factory=dict)
    env: list[dict[str, Any]] = Field(default_factory=list)
    env_from: list[dict[str, Any]] = Field(default_factory=list)
    service_account_name: str | None = None
    shutdown_timeout_seconds: int = Field(default=25, ge=1, le=3600)
    #: core/v1 Volumes and the worker container's VolumeMounts (the configuration file).
    volumes: list[dict[str, Any]] = Field(default_factory=list)
    volume_mounts: list[dict[str, Any]] = Field(default_factory=list)
    #: Annotations of the worker Pods (a checksum of the configuration file: a change rolls them).
    pod_annotations: dict[str, str] = Field(default_factory=dict)


class ReplicaBounds(_Camel):
    min: int = Field(default=0, ge=0)
    max: int = Field(default=10, ge=1)


class ScaleDown(_Camel):
    stabilization_seconds: int = Field(default=300, ge=0)


class AgentQueueSpec(_Camel):
    queue: Priority
    priority: Priority | None = None
    worker: WorkerSpec
    replicas: ReplicaBounds = Field(default_factory=ReplicaBounds)
    target_messages_per_replica: int = Field(default=16, ge=1)
    drain_time_seconds: int = Field(default=60, ge=1)
    budgets: list[str] = Field(default_factory=list)
    tokens_per_minute_per_replica: int = Field(default=0, ge=0)
    scale_down: ScaleDown = Field(default_factory=ScaleDown)
    scale_to_zero: bool = True
    #: The queue's completion tasks go to provider batches (``AGENTQUEUE_BATCH_API``).
    #: Tasks a worker acked into a batch are no longer in the queue: its depth, which
    #: scaling reads, does not count them (no worker is scaled for a provider's batch).
    batch_api: bool = False

    @model_validator(mode="after")
    def _bounds(self) -> AgentQueueSpec:
        if self.replicas.min > self.replicas.max:
            raise ValueError("replicas.min must not exceed replicas.max")
        return self

    @property
    def limiter_priority(self) -> Priority:
        return self.priority or self.queue

    @classmethod
    def of(cls, spec: Mapping[str, Any]) -> AgentQueueSpec:
        return cls.model_validate(dict(spec))

"""The task API's request and response bodies (what ``/docs`` shows)."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    StrictBool,
    StringConstraints,
    model_validator,
)

from agentqueue.core.base.priority import Priority
from agentqueue.core.llm.catalog import Catalog
from agentqueue.core.llm.messages import (
    CacheControl,
    ChatMessage,
    CompletionRequest,
    ResponseFormat,
    Tier,
    ToolChoice,
    ToolSpec,
)
from agentqueue.core.llm.routing import TierChoice
from agentqueue.core.tasks.agent_params import check_params
from agentqueue.core.tasks.model import TaskRecord, TaskSpec, TaskState
from agentqueue.core.tasks.view import CallView, TaskView

MetadataKey = Annotated[str, StringConstraints(min_length=1, max_length=64)]
MetadataValue = Annotated[str, StringConstraints(max_length=512)]


class CacheControlIn(BaseModel):
    """Per-request cache controls (``core.llm.messages.CacheControl``), with booleans that
    are booleans: ``0`` or ``"yes"`` is refused rather than guessed."""

    model_config = ConfigDict(extra="forbid")

    no_cache: StrictBool = False
    no_store: StrictBool = False
    ttl: int | None = Field(default=None, ge=0, le=30 * 24 * 3600)
    semantic: StrictBool | None = None
    allow_nondeterministic: StrictBool = False

    def to_core(self) -> CacheControl:
        return CacheControl(**self.model_dump())


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
    tier: TierChoice = Field(
        default=TierChoice.FRONTIER,
        description="Model capability the task needs: frontier, efficient, or auto (each "
        "call routed by the routing rules; the decision is recorded on the call).",
    )
    model: str | None = Field(
        default=None,
        max_length=200,
        description="A catalog model to try first (GET /v1/models); the task's tier becomes "
        "the model's, and fallback stays within it.",
    )
    max_tokens: int = Field(default=1024, ge=1, le=200_000)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    tools: list[ToolSpec] = Field(
        default_factory=list,
        max_length=128,
        description="Tools the model may call (a completion's result then holds its "
        "tool_calls; submit the next turn with their tool_results).",
    )
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: StrictBool | None = None
    stop: list[Annotated[str, StringConstraints(min_length=1, max_length=256)]] = Field(
        default_factory=list, max_length=4
    )
    seed: int | None = None
    response_format: ResponseFormat | None = Field(
        default=None,
        description="json_object or json_schema: the answer is JSON (a completion's "
        "result.data holds it parsed).",
    )
    cache: CacheControlIn | None = Field(
        default=None, description="Response cache controls (docs/cache.md); not in the key."
    )
    metadata: dict[MetadataKey, MetadataValue] = Field(default_factory=dict, max_length=32)
    max_cost_usd: Decimal | None = Field(
        default=None,
        gt=0,
        le=100_000,
        description="Stop the task before a call that could take its cost past this (USD).",
    )
    params: dict[str, Any] = Field(
        default_factory=dict,
        description="The agent's parameters: `questions` (list of strings), `max_questions`, "
        "`map_tier`, `reduce_tier`, `map_max_tokens`, `max_parallel` for map_reduce; "
        "`schema` (a JSON schema) for extract.",
    )
    webhook_url: HttpUrl | None = Field(
        default=None,
        description="POSTed the finished task, signed (Standard Webhooks). https only, "
        "and never a private, loopback or link-local address unless the operator allows it.",
    )
    batch_api: bool = Field(
        default=False,
        description="Answer through the provider's batch API at batch prices (about half), "
        "within the provider's window (up to 24 h): `completion` tasks on a queue whose "
        "workers have the batch path on; elsewhere the task runs online.",
        exclude_if=lambda v: not v,  # a body without it hashes as before (Idempotency-Key)
    )

    @model_validator(mode="after")
    def _agent_params(self) -> TaskCreate:
        """Refuse what the agent would fail on: its kind's parameter model (the one the
        worker's agent reads them with, ``core.tasks.agent_params``) must accept them."""
        check_params(self.kind, self.params)  # InvalidParams is a ValueError: 422
        return self

    def to_spec(self, catalog: Catalog | None = None) -> TaskSpec:
        """The stored spec. With a ``model``, ``catalog`` resolves it: its tier is the
        task's (:class:`UnknownModel` for a name the catalog does not have)."""
        tier = Tier.FRONTIER if self.tier is TierChoice.AUTO else Tier(self.tier.value)
        model = None
        if self.model is not None and catalog is not None:
            info = catalog.get(self.model)
            tier, model = Tier(info.tier), info.model
        return TaskSpec(
            kind=self.kind,
            priority=self.priority,
            input=CompletionRequest(
                messages=self.messages,
                system=self.system,
                tier=tier,
                model=model,
                max_tokens=self.max_tokens,
                temperature=self.temperature,
                tools=self.tools,
                tool_choice=self.tool_choice,
                parallel_tool_calls=self.parallel_tool_calls,
                stop=self.stop,
                seed=self.seed,
                response_format=self.response_format,
                cache=self.cache.to_core() if self.cache else None,
            ),
            metadata=self.metadata,
            webhook_url=str(self.webhook_url) if self.webhook_url else None,
            max_cost_usd=self.max_cost_usd,
            params=self.params,
            tier_choice=TierChoice.AUTO if self.tier is TierChoice.AUTO else None,
            batch_api=self.batch_api,
        )

    def body_hash(self) -> str:
        """What an Idempotency-Key's retry must match: 128 bits of the body's SHA-256 (it
        is stored with the key for the record's whole TTL; keys stored whole by earlier
        versions still match, by their prefix)."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:32]


class TaskAccepted(BaseModel):
    id: str
    status: TaskState
    priority: Priority
    status_url: str


class TaskSummary(BaseModel):
    """A task in a listing: what it is and how it stands (its result: ``GET`` it)."""

    id: str
    status: TaskState
    kind: str
    priority: Priority
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    cost_usd: float
    metadata: dict[str, str] = Field(default_factory=dict)
    error_type: str | None = None

    @classmethod
    def of(cls, r: TaskRecord) -> TaskSummary:
        return cls(
            id=r.id,
            status=r.state,
            kind=r.spec.kind,
            priority=r.spec.priority,
            created_at=r.created_at,
            started_at=r.started_at,
            finished_at=r.finished_at,
            cost_usd=float(r.cost_usd),
            metadata=r.spec.metadata,
            error_type=r.error.type if r.error else None,
        )


class TaskList(BaseModel):
    """A page of tasks, newest first."""

    tasks: list[TaskSummary]
    #: Pass as ``cursor`` for the next page; null when the listing is over.
    next_cursor: str | None = None
    #: Tasks this page looked at (at most 1,000, whatever its filters).
    scanned: int = 0


__all__ = ["CallView", "TaskAccepted", "TaskCreate", "TaskList", "TaskSummary", "TaskView"]

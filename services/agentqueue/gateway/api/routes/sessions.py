"""``/v1/sessions``: conversations that outlive one call, run step by step in the workers.

A client creates a session, adds turns (user messages, and tool calls with their results
— always together), and asks for a step: the gateway claims the session for a new task
of kind ``session_step`` and queues it; the worker fits the context under the model's
window (compacting when needed), calls the model and appends the reply. One step at a
time: turns and steps are refused with 409 while a step is queued or running. Sessions
are tenant-scoped: another tenant's session is 404.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Response, status
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, HttpUrl, StrictBool

from agentqueue.core.apikeys import usage_tags
from agentqueue.core.base.errors import QueueUnavailable, TaskNotFound
from agentqueue.core.base.priority import Priority
from agentqueue.core.llm.messages import ChatMessage, CompletionRequest, Tier, Usage
from agentqueue.core.llm.routing import TierChoice
from agentqueue.core.sessions.metrics import SESSION_CALLS, SESSION_COST
from agentqueue.core.sessions.models import (
    Compaction,
    Item,
    ItemKind,
    SessionRecord,
    SessionState,
)
from agentqueue.core.sessions.store import SessionStore, check_pairs
from agentqueue.core.tasks.agent_params import SessionStepParams
from agentqueue.core.tasks.model import TaskRecord, TaskSpec
from agentqueue.core.tasks.store import TaskStore
from agentqueue.core.tasks.submission import submit
from agentqueue.gateway.api.deps import (
    BrokerDep,
    CallerDep,
    QuotasDep,
    SessionsDep,
    SettingsDep,
    StoreDep,
    TenantDep,
)
from agentqueue.gateway.api.errors import error_responses
from agentqueue.gateway.api.governance import check_model_allowed
from agentqueue.gateway.api.webhook_urls import checked_webhook_url

router = APIRouter(prefix="/v1/sessions", tags=["sessions"])


class TurnIn(BaseModel):
    """One turn: a message, or a tool call or result (a call's result follows it at once)."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["user", "assistant", "tool_call", "tool_result"]
    content: str = Field(min_length=1, max_length=2_000_000)
    #: Pairs a tool call with its result.
    call_id: str | None = Field(default=None, max_length=200)
    tool: str | None = Field(default=None, max_length=200)
    #: Never summarised away.
    pinned: StrictBool = False

    def item(self) -> Item:
        return Item(
            kind=ItemKind(self.role),
            content=self.content,
            call_id=self.call_id,
            tool=self.tool,
            pinned=self.pinned,
        )


def _paired(turns: list[TurnIn]) -> list[TurnIn]:
    """A tool call's result follows it in the same request (422 naming ``body.turns``)."""
    check_pairs([t.item() for t in turns])
    return turns


PairedTurns = Annotated[list[TurnIn], AfterValidator(_paired)]


class SessionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    system: str | None = Field(default=None, max_length=2_000_000)
    tier: TierChoice = Field(
        default=TierChoice.FRONTIER, description="Tier of each step: frontier, efficient or auto."
    )
    max_tokens: int = Field(default=1024, ge=1, le=64_000, description="Output tokens per step.")
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    max_cost_usd: Decimal | None = Field(
        default=None, gt=0, le=100_000, description="Stop before the session could cost more."
    )
    context_ceiling: int | None = Field(
        default=None, ge=1_000, description="A context ceiling below the model's window, tokens."
    )
    keep_tool_results: int | None = Field(default=None, ge=0, le=1000)
    keep_turns: int | None = Field(default=None, ge=1, le=1000)
    metadata: dict[str, str] = Field(default_factory=dict, max_length=32)
    turns: PairedTurns = Field(default_factory=list, max_length=10_000)


class TurnsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    turns: PairedTurns = Field(min_length=1, max_length=10_000)


class StepCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    priority: Priority = Priority.STANDARD
    webhook_url: HttpUrl | None = Field(
        default=None,
        description="POSTed the step's finished task, signed, as a task's webhook is "
        "(the same rules: https only, no private address unless the operator allows it).",
    )


class SessionView(BaseModel):
    id: str
    state: SessionState
    created_at: float
    updated_at: float
    tier: TierChoice
    max_tokens: int
    max_cost_usd: float | None
    items: int
    steps: int
    calls: int
    cost_usd: float
    usage: Usage
    context_tokens: int
    compactions: list[Compaction]
    pending_step: str | None
    step_tasks: list[str]
    metadata: dict[str, str]

    @classmethod
    def of(cls, r: SessionRecord, compactions: list[Compaction]) -> SessionView:
        return cls(
            id=r.id,
            state=r.state,
            created_at=r.created_at,
            updated_at=r.updated_at,
            tier=r.tier,
            max_tokens=r.max_tokens,
            max_cost_usd=float(r.max_cost_usd) if r.max_cost_usd is not None else None,
            items=r.items,
            steps=r.steps,
            calls=r.calls,
            cost_usd=float(r.cost_usd),
            usage=r.usage,
            context_tokens=r.context_tokens,
            compactions=compactions,
            pending_step=r.pending_step,
            step_tasks=r.step_tasks,
            metadata=r.metadata,
        )


class StepAccepted(BaseModel):
    session_id: str
    task_id: str
    status_url: str


async def _view(sessions: SessionStore, record: SessionRecord) -> SessionView:
    return SessionView.of(record, await sessions.compactions(record.id))


async def _release_stale(sessions: SessionStore, store: TaskStore, record: SessionRecord) -> None:
    """A claim whose task has ended (cancelled while queued, failed for good) is let go."""
    pending = record.pending_step
    if pending is None:
        return
    try:
        finished = (await store.get(pending)).state.terminal
    except TaskNotFound:
        finished = True
    if finished:
        await sessions.release_step(record.id, pending)


# Session errors are answered by the shared handlers (gateway/api/errors.py): another
# tenant's or an unknown session 404, a busy or closed one 409.


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=SessionView,
    responses=error_responses(400, 413),
)
async def create_session(
    body: SessionCreate, tenant: TenantDep, sessions: SessionsDep
) -> SessionView:
    """Start a session, optionally with its first turns."""
    record = await sessions.create(
        SessionRecord(
            tenant=tenant,
            system=body.system,
            tier=body.tier,
            max_tokens=body.max_tokens,
            temperature=body.temperature,
            max_cost_usd=body.max_cost_usd,
            context_ceiling=body.context_ceiling,
            keep_tool_results=body.keep_tool_results,
            keep_turns=body.keep_turns,
            metadata=body.metadata,
        )
    )
    if body.turns:
        await sessions.append(record.id, [t.item() for t in body.turns], tenant=tenant)
        record = await sessions.get(record.id)
    return await _view(sessions, record)


@router.get("/{session_id}", response_model=SessionView, responses=error_responses(404))
async def get_session(session_id: str, tenant: TenantDep, sessions: SessionsDep) -> SessionView:
    """The session's totals (calls, cost, tokens), its compactions and its step tasks."""
    return await _view(sessions, await sessions.get(session_id, tenant=tenant))


#: The largest transcript position asked for: a Redis list holds fewer than 2**32 items,
#: and ``start + limit`` must stay a 64-bit integer.
MAX_TRANSCRIPT_START = 2**32


@router.get("/{session_id}/transcript", response_model=list[Item], responses=error_responses(404))
async def get_transcript(
    session_id: str,
    tenant: TenantDep,
    sessions: SessionsDep,
    start: int = Query(default=0, ge=0, le=MAX_TRANSCRIPT_START),
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[Item]:
    """Every item ever added, verbatim (elided tool results point here by ``seq``)."""
    await sessions.get(session_id, tenant=tenant)
    return await sessions.transcript(session_id, start, start + limit - 1)


@router.get("/{session_id}/context", response_model=list[Item], responses=error_responses(404))
async def get_context(session_id: str, tenant: TenantDep, sessions: SessionsDep) -> list[Item]:
    """What the next step sends: the context after its compactions."""
    await sessions.get(session_id, tenant=tenant)
    return await sessions.context(session_id)


@router.post(
    "/{session_id}/turns", response_model=list[Item], responses=error_responses(400, 404, 409, 413)
)
async def add_turns(
    session_id: str, body: TurnsIn, tenant: TenantDep, sessions: SessionsDep, store: StoreDep
) -> list[Item]:
    """Append turns (numbered in the transcript). A tool call's result must follow it."""
    await _release_stale(sessions, store, await sessions.get(session_id, tenant=tenant))
    return await sessions.append(session_id, [t.item() for t in body.turns], tenant=tenant)


@router.post(
    "/{session_id}/steps",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=StepAccepted,
    responses=error_responses(400, 403, 404, 409, 413, 429),
)
async def run_step(
    session_id: str,
    response: Response,
    tenant: TenantDep,
    sessions: SessionsDep,
    store: StoreDep,
    broker: BrokerDep,
    quotas: QuotasDep,
    caller: CallerDep,
    settings: SettingsDep,
    body: StepCreate | None = None,
) -> StepAccepted:
    """Queue the next step: the model answers the session's context (compacted if needed)."""
    body = body or StepCreate()
    if not caller.allows(body.priority):
        raise HTTPException(403, f"body.priority: this API key may not submit at {body.priority}")
    webhook_url = await checked_webhook_url(body.webhook_url, settings)
    await quotas.check_spend(tenant)
    record = await sessions.get(session_id, tenant=tenant)
    await _release_stale(sessions, store, record)
    spec = TaskSpec(
        kind="session_step",
        priority=body.priority,
        input=CompletionRequest(
            messages=[ChatMessage(role="user", content=f"(step of session {session_id})")],
            tier=Tier.FRONTIER if record.tier is TierChoice.AUTO else Tier(record.tier.value),
            max_tokens=record.max_tokens,
            temperature=record.temperature,
        ),
        params=SessionStepParams(session_id=session_id, session_ttl=sessions.ttl).model_dump(),
        tier_choice=record.tier if record.tier is TierChoice.AUTO else None,
        metadata={"session_id": session_id},
        webhook_url=webhook_url,
    )
    check_model_allowed(caller, spec.input.model)  # a tier: refused to a key limited to models
    # the key goes with the task: the step's calls charge its quotas and count its usage
    task = TaskRecord(tenant=tenant, spec=spec, key_id=caller.key_id, tags=usage_tags(caller))
    await sessions.begin_step(session_id, task.id, tenant=tenant)
    try:
        await submit(store, broker, task)
    except QueueUnavailable:
        await sessions.release_step(session_id, task.id)  # no task was written: let go
        raise
    status_url = f"/v1/tasks/{task.id}"
    response.headers["Location"] = status_url
    return StepAccepted(session_id=session_id, task_id=task.id, status_url=status_url)


@router.delete("/{session_id}", response_model=SessionView, responses=error_responses(404, 409))
async def close_session(
    session_id: str, tenant: TenantDep, sessions: SessionsDep, store: StoreDep
) -> SessionView:
    """Close the session: no more turns or steps. Its records stay until they expire."""
    await _release_stale(sessions, store, await sessions.get(session_id, tenant=tenant))
    record, closed = await sessions.close(session_id, tenant=tenant)
    if closed:
        SESSION_COST.observe(float(record.cost_usd))
        SESSION_CALLS.observe(record.calls)
    return await _view(sessions, record)

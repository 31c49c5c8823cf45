"""``/v1/tasks``: submit background agent tasks, read their outcome, cancel them.

Cancelling is a compare-and-set on the record: a queued task then never runs (the worker
finds it terminal), a running one stops before its next LLM call. A call already in
flight is not interrupted — it was asked for and will be paid for, so it is recorded.
"""

from __future__ import annotations

import json
import logging
from typing import Annotated

from anyio import to_thread
from fastapi import APIRouter, Header, HTTPException, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from agentqueue.core.base.priority import Priority
from agentqueue.core.llm.catalog import UnknownModel
from agentqueue.core.queues.broker import webhook_message
from agentqueue.core.ratelimit.quotas import TenantQuotas
from agentqueue.core.tasks import listing
from agentqueue.core.tasks.listing import TaskFilter
from agentqueue.core.tasks.model import TaskRecord, TaskState
from agentqueue.core.tasks.store import TaskStore
from agentqueue.core.tasks.submission import submit
from agentqueue.gateway.api.deps import BrokerDep, CallerDep, StoreDep, TenantDep, authenticate
from agentqueue.gateway.api.direct import direct_route
from agentqueue.gateway.api.errors import InvalidField, error_responses
from agentqueue.gateway.api.governance import check_model_allowed, request_tags
from agentqueue.gateway.api.schemas import (
    TaskAccepted,
    TaskCreate,
    TaskList,
    TaskSummary,
    TaskView,
)
from agentqueue.gateway.api.webhook_urls import checked_webhook_url
from agentqueue.gateway.metrics import IDEMPOTENT_REPLAYS, submitted
from agentqueue.gateway.settings import GatewaySettings

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/tasks", tags=["tasks"])

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="Resubmitting with the same key returns the same task.",
    ),
]


async def submit_task(
    body: TaskCreate,
    request: Request,
    caller: CallerDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Queue a task; answer at once with its id and where to poll.

    A tenant that has spent its daily quota gets 429 with the seconds until the quota
    resets, rather than a task that is bound to fail. If the queue cannot be reached the
    task is failed and the answer is 503 (``core.tasks.submission``).
    """
    # The hot path (bench/gateway_submit.py): a well-formed request is served by
    # _submit_direct, without FastAPI's parameter solving (api/direct.py); the process's
    # services read from the app's state rather than one dependency each, the body hashed
    # only for an Idempotency-Key, and the answer serialised once, straight to bytes (the
    # same body FastAPI's response model gave).
    state = request.app.state
    settings: GatewaySettings = state.settings
    if body.kind not in settings.task_kinds:
        raise HTTPException(
            422,
            f"body.kind: unknown task kind {body.kind!r}; known: {settings.task_kinds}",
        )
    await checked_webhook_url(body.webhook_url, settings)
    if not caller.allows(body.priority):
        allowed = ", ".join(p.value for p in caller.priorities)
        raise HTTPException(
            403, f"body.priority: this API key may submit at {allowed} only, not {body.priority}"
        )
    try:
        spec = body.to_spec(state.chain.catalog)
    except UnknownModel:
        known = ", ".join(sorted(m.model for m in state.chain.catalog.models))
        raise RequestValidationError(
            [
                {
                    "loc": ("body", "model"),
                    "msg": f"unknown model {body.model!r}; known: {known}",
                    "type": "value_error",
                }
            ]
        ) from None
    check_model_allowed(caller, spec.input.model)
    tags = request_tags(request, caller, body.metadata)
    tenant = caller.tenant
    quotas: TenantQuotas = state.quotas
    await quotas.check_spend(tenant)
    key_record = await quotas.keys.record(caller.key_id)
    if key_record is not None and key_record.tenant == tenant:
        await quotas.keys.check_spend(key_record)  # a key over its spend gets no task
    store: TaskStore = state.store
    record, created = await submit(
        store,
        state.broker,
        TaskRecord(tenant=tenant, spec=spec, key_id=caller.key_id, tags=tags),
        idempotency_key=idempotency_key,
        body_hash=body.body_hash() if idempotency_key is not None else "",
    )
    status_url = f"/v1/tasks/{record.id}"
    headers = {"Location": status_url}
    if created:
        submitted(record.spec.priority)
    else:
        IDEMPOTENT_REPLAYS.inc()
        headers["Idempotent-Replayed"] = "true"
    accepted = TaskAccepted(
        id=record.id, status=record.state, priority=record.spec.priority, status_url=status_url
    )
    return Response(
        accepted.model_dump_json(),
        status_code=status.HTTP_202_ACCEPTED,
        headers=headers,
        media_type="application/json",
    )


#: What FastAPI parses as JSON is ``application/json`` or ``application/*+json``, with
#: parameters; the direct handler takes the usual two spellings and leaves the rest to it.
_JSON = ("application/json", "application/json; charset=utf-8")
_KEY_LENGTH = range(1, 256)  # IdempotencyKey's bounds


async def _submit_direct(request: Request) -> Response | None:
    """:func:`submit_task` for a well-formed request (``api/direct.py``): the body
    validated from its bytes by pydantic, the caller by :func:`authenticate`, the
    Idempotency-Key within its bounds; else None, before anything is done, and FastAPI
    answers the request — with the field named if it is invalid."""
    headers = request.headers
    if headers.get("content-type", "").lower() not in _JSON:
        return None
    idempotency_key = headers.get("idempotency-key")
    if idempotency_key is not None and len(idempotency_key) not in _KEY_LENGTH:
        return None
    # Parsed then validated in Python mode, exactly as FastAPI does: JSON mode would make
    # other values of some fields (12.0 -> Decimal("12") for max_cost_usd), so the same
    # body would hash differently by path, and a retry with its Idempotency-Key get 409.
    try:
        body = TaskCreate.model_validate(json.loads(await request.body()))
    except (ValueError, ValidationError):
        return None
    return await submit_task(body, request, await authenticate(request), idempotency_key)


router.add_api_route(
    "",
    submit_task,
    methods=["POST"],
    status_code=status.HTTP_202_ACCEPTED,
    response_model=TaskAccepted,
    responses=error_responses(400, 403, 409, 413, 429),
    route_class_override=direct_route(_submit_direct),
)


@router.get("", response_model=TaskList, responses=error_responses(400))
async def list_tasks(
    request: Request,
    tenant: TenantDep,
    state: Annotated[
        TaskState | None, Query(alias="status", description="Only tasks in this state.")
    ] = None,
    priority: Annotated[Priority | None, Query(description="Only tasks of this queue.")] = None,
    kind: Annotated[
        str | None, Query(pattern=r"^[a-z][a-z0-9_]{0,63}$", description="Only this agent.")
    ] = None,
    since: Annotated[
        float | None,
        Query(ge=0, le=1e11, allow_inf_nan=False, description="Created at or after (Unix s)."),
    ] = None,
    until: Annotated[
        float | None,
        Query(ge=0, le=1e11, allow_inf_nan=False, description="Created at or before (Unix s)."),
    ] = None,
    cursor: Annotated[
        str | None, Query(max_length=512, description="`next_cursor` of the previous page.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="Tasks per page.")] = 50,
) -> TaskList:
    """The caller's tenant's tasks, newest first, a page at a time (``next_cursor``).

    Served from the tenant's index (never a scan of the keyspace); a filtered page looks
    at most 1,000 tasks, so it may hold fewer than ``limit`` and still have a
    ``next_cursor``: follow it until there is none."""
    store: TaskStore = request.app.state.store
    where = TaskFilter(
        status=state.value if state else None,
        priority=priority.value if priority else None,
        kind=kind,
        since=since,
        until=until,
    )
    try:
        page = await listing.list_tasks(
            store.redis, tenant, limit=limit, cursor=cursor, where=where
        )
    except listing.BadCursor as exc:
        raise InvalidField("query.cursor", str(exc)) from None
    return TaskList(
        tasks=[TaskSummary.of(r) for r in page.tasks],
        next_cursor=page.next_cursor,
        scanned=page.scanned,
    )


@router.get("/{task_id}", response_model=TaskView, responses=error_responses(404))
async def get_task(task_id: str, tenant: TenantDep, store: StoreDep) -> TaskView:
    """The task's status, and once finished its result or error, usage and cost."""
    return TaskView.of(await store.get(task_id, tenant=tenant))


@router.delete(
    "/{task_id}",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=TaskView,
    responses=error_responses(404, 409),
)
async def cancel_task(
    task_id: str, tenant: TenantDep, store: StoreDep, broker: BrokerDep
) -> TaskView:
    """Cancel a queued or running task (a running one stops before its next LLM call)."""
    record, cancelled = await store.cancel(task_id, tenant=tenant)
    if not cancelled:
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"task {task_id!r} already finished: {record.state.value}"
        )
    # Its ``cancelled`` event was written with the cancellation (TaskStore.cancel).
    if record.spec.webhook_url:
        await to_thread.run_sync(broker.enqueue, webhook_message(record.id, record.spec.priority))
    return TaskView.of(record)

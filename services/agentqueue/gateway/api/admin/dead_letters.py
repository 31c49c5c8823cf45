"""``/admin/v1/dead-letters``: list, inspect, requeue (exactly once), discard.

See ``core/tasks/dead_letters.py`` for where Dramatiq keeps them and why a requeue
happens once however many ask.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request, status

from agentqueue.core.base.priority import Priority
from agentqueue.core.tasks.dead_letters import (
    DeadLetter,
    DeadLetterConflict,
    DeadLetterNotFound,
    DeadLetters,
)
from agentqueue.gateway.api.admin.auth import AdminDep
from agentqueue.gateway.api.admin.common import admin_errors, audit
from agentqueue.gateway.api.admin.schemas import DeadLetterList, DeadLetterView

router = APIRouter(prefix="/dead-letters", tags=["admin"])

MessageId = Annotated[str, Path(min_length=1, max_length=100)]


def _letters(request: Request) -> DeadLetters:
    state = request.app.state
    letters: DeadLetters | None = getattr(state, "dead_letters", None)
    if letters is None:
        letters = DeadLetters(state.store, state.broker)
        state.dead_letters = letters
    return letters


def _view(d: DeadLetter, *, whole: bool) -> DeadLetterView:
    return DeadLetterView(
        message_id=d.message_id,
        queue=d.queue,
        died_at=d.died_at,
        actor=d.actor,
        task_id=d.task_id,
        tenant=d.task.tenant if d.task else None,
        task_status=d.task.state.value if d.task else None,
        error=d.task.error.model_dump() if d.task and d.task.error else None,
        message=d.message if whole else None,
    )


@router.get("", response_model=DeadLetterList, responses=admin_errors())
async def list_dead_letters(
    request: Request,
    _admin: AdminDep,
    queue: Priority | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> DeadLetterList:
    """The newest dead letters (of one queue, or all)."""
    letters = await _letters(request).list(queue=queue.value if queue else None, limit=limit)
    return DeadLetterList(dead_letters=[_view(d, whole=False) for d in letters])


@router.get("/{message_id}", response_model=DeadLetterView, responses=admin_errors(404))
async def get_dead_letter(
    message_id: MessageId, request: Request, _admin: AdminDep
) -> DeadLetterView:
    """One dead letter: its message and its task's record (status, error)."""
    try:
        return _view(await _letters(request).get(message_id), whole=True)
    except DeadLetterNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None


@router.post(
    "/{message_id}/requeue",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeadLetterView,
    responses=admin_errors(404, 409),
)
async def requeue_dead_letter(
    message_id: MessageId, request: Request, admin: AdminDep
) -> DeadLetterView:
    """Queue the message again, once; its task goes back to ``queued``."""
    try:
        letter = await _letters(request).requeue(message_id)
    except DeadLetterNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except DeadLetterConflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    await audit(request, admin, "dead_letter.requeue", message_id, task_id=letter.task_id)
    return _view(letter, whole=False)


@router.delete("/{message_id}", response_model=DeadLetterView, responses=admin_errors(404))
async def discard_dead_letter(
    message_id: MessageId, request: Request, admin: AdminDep
) -> DeadLetterView:
    """Drop the dead letter (its task's record stays as it is)."""
    try:
        letter = await _letters(request).discard(message_id)
    except DeadLetterNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    await audit(request, admin, "dead_letter.discard", message_id, task_id=letter.task_id)
    return _view(letter, whole=False)

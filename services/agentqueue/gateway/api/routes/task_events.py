"""``GET /v1/tasks/{id}/events``: a task's progress as Server-Sent Events.

The stream replays the task's event log from the start (or from ``Last-Event-ID``),
then waits for new events with ``XREAD BLOCK`` and ends after the terminal one
(``succeeded``, ``failed`` or ``cancelled``). Every event carries its log id as the SSE
``id:``, so a reconnecting client — a browser's ``EventSource`` does this by itself —
resumes exactly after the last event it saw.

Why a plain ``StreamingResponse`` rather than sse-starlette or FastAPI's own
``EventSourceResponse``: the blocking read already has a timeout, and that timeout is the
keep-alive tick. One loop thus replays, waits, writes the keep-alive comment and re-reads
the record when the log is quiet (which ends a stream whose terminal event was lost),
where the libraries add a task group and a second timer for the pings, and one of them a
dependency. The SSE format itself is four lines of code. A client that disconnects
cancels the response (Starlette listens for ``http.disconnect``), which ends the loop
and its Redis read.

A blocked read holds a Redis connection for its whole wait, so streams get their own
connection pool (``events_max_streams``): many watchers never starve task submission of
connections, and one past the limit gets 503 instead of a stalled stream.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Header, HTTPException, Request, status
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from agentqueue.core.base.errors import TaskNotFound
from agentqueue.core.base.redisconn import async_redis
from agentqueue.core.tasks.events import EVENT_ID, TaskEvent, TaskEvents, terminal_event
from agentqueue.core.tasks.store import TaskStore
from agentqueue.gateway.api.deps import SettingsDep, StoreDep, TenantDep
from agentqueue.gateway.api.errors import ErrorBody, error_responses
from agentqueue.gateway.settings import GatewaySettings

KEEPALIVE = b": keep-alive\n\n"

#: Seconds a quiet stream of a finished task waits for its terminal event, which the
#: worker appends an instant after it writes the record.
TERMINAL_GRACE = 0.5


class _Streams:
    """The open event streams of one gateway process, and their Redis pool."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.limit = settings.events_max_streams
        self.redis = async_redis(settings, max_connections=self.limit + 2)
        self.open = 0


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    streams = _Streams(app.state.settings)
    app.state.task_event_streams = streams
    try:
        yield
    finally:
        await streams.redis.aclose()


router = APIRouter(prefix="/v1/tasks", tags=["tasks"], lifespan=_lifespan)

LastEventId = Annotated[
    str | None,
    Header(
        alias="Last-Event-ID",
        description="Resume after this event id (what the last event's `id:` said).",
    ),
]


def format_event(event: TaskEvent) -> bytes:
    """One event in the SSE wire format (JSON has no raw newlines: one ``data:`` line)."""
    lines = [f"id: {event.id}"] if event.id else []
    lines += [f"event: {event.type.value}", f"data: {json.dumps(event.data, default=str)}"]
    return ("\n".join(lines) + "\n\n").encode()


async def _stream(
    task_id: str,
    events: TaskEvents,
    store: TaskStore,
    *,
    after: str,
    keepalive: float,
) -> AsyncIterator[bytes]:
    block: float | None = None  # the first read replays without waiting
    while True:
        batch = await events.read(task_id, after=after, block=block)
        for event in batch:
            yield format_event(event)
            after = event.id
            if event.type.terminal:
                return
        if batch:
            block = None  # more may be queued behind a full batch
            continue
        try:
            record = await store.get(task_id)
        except TaskNotFound:  # expired while we watched
            return
        if record.state.terminal:
            late = await events.read(task_id, after=after, block=TERMINAL_GRACE)
            if late:
                block = None
                for event in late:
                    yield format_event(event)
                    after = event.id
                    if event.type.terminal:
                        return
                continue
            # The terminal event was lost (or the log expired): end with the record's.
            yield format_event(terminal_event(record))
            return
        if block is not None:
            yield KEEPALIVE
        block = keepalive


#: The largest part of a Redis stream id (each of its two numbers is an unsigned 64-bit).
_MAX_ID_PART = 2**64 - 1


def _valid_event_id(value: str) -> bool:
    """A Redis stream id within range: ``<ms>-<seq>``, each at most 2**64 - 1."""
    if not EVENT_ID.match(value):
        return False
    ms, _, seq = value.partition("-")
    return int(ms) <= _MAX_ID_PART and int(seq) <= _MAX_ID_PART


class _SlotResponse(StreamingResponse):
    """A stream holding one of the process's stream slots, taken at admission (before
    the 200) and given back when the response ends however it ends — finished, client
    gone, or never started."""

    def __init__(self, content: AsyncIterator[bytes], streams: _Streams, **kwargs: Any) -> None:
        super().__init__(content, **kwargs)
        self._streams = streams
        self._held = True

    def release(self) -> None:
        if self._held:
            self._held = False
            self._streams.open -= 1

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.release()


@router.get(
    "/{task_id}/events",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "queued, started, llm_call, fallback, retry, then one of "
            "succeeded, failed or cancelled; data is JSON.",
        },
        **error_responses(400, 404),
        503: {
            "model": ErrorBody,
            "description": "Too many open event streams on this gateway (retry after "
            "`retry-after` seconds), or Redis is unavailable.",
        },
    },
)
async def task_events(
    task_id: str,
    request: Request,
    tenant: TenantDep,
    store: StoreDep,
    settings: SettingsDep,
    last_event_id: LastEventId = None,
) -> StreamingResponse:
    """The task's progress as Server-Sent Events, from the start or from Last-Event-ID."""
    if last_event_id is not None and not _valid_event_id(last_event_id):
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            "Last-Event-ID must be an event id like 1712-0 (two numbers below 2**64)",
        )
    await store.get(task_id, tenant=tenant)  # another tenant's task is 404
    streams: _Streams = request.app.state.task_event_streams
    # Check and take the slot with no await in between: admission is atomic within the
    # process, so N concurrent requests past the limit are refused here, never mid-stream.
    if streams.open >= streams.limit:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "too many open event streams; poll GET /v1/tasks/{id} or retry",
            headers={"retry-after": "5"},
        )
    streams.open += 1
    events = TaskEvents(streams.redis, ttl=store.ttl)
    return _SlotResponse(
        _stream(
            task_id,
            events,
            store,
            after=last_event_id or "0-0",
            keepalive=settings.events_keepalive,
        ),
        streams,
        media_type="text/event-stream",
        headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
    )

"""Anthropic's Message Batches: ``/v1/messages/batches`` (create, retrieve, list, cancel,
delete) and its ``/results`` JSONL.

Each request is a ``custom_id`` and the ``params`` of a Messages call. A batch is
``in_progress`` until it ends (``canceling`` in the answer to a cancel), then ``ended``;
its ``request_counts`` stay all ``processing`` until then, as Anthropic's do, and its
``results_url`` — absolute, as the SDK fetches it — appears once it has ended. A create
beyond the enqueued-tokens cap is a 429 ``rate_limit_error``.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from agentqueue.simulator.batches import (
    IN_PROGRESS,
    Answer,
    BatchItem,
    BatchJob,
    BatchStore,
    Outcome,
    Parsed,
    auth_refusal,
    new_id,
    offline_admission,
)
from agentqueue.simulator.deployments import deployment_of
from agentqueue.simulator.engine import Refusal, Simulator, input_estimate
from agentqueue.simulator.protocols.anthropic import (
    _error,
    _extras,
    _key,
    _parse,
    _prompt_cache,
    message_body,
)

PROVIDER = "anthropic"
WINDOW_SECONDS = 24 * 3600
_CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def _at(moment: float | None) -> str | None:
    if moment is None:
        return None
    return datetime.fromtimestamp(moment, UTC).isoformat().replace("+00:00", "Z")


def _refuse(status: int, kind: str, message: str) -> JSONResponse:
    return JSONResponse(_error(kind, message), status_code=status)


def _typed(status: int, error_type: str, message: str) -> JSONResponse:
    body = {"type": "error", "error": {"type": error_type, "message": message}}
    return JSONResponse(body, status_code=status)


def _invalid(message: str) -> JSONResponse:
    return _typed(400, "invalid_request_error", message)


def _not_found(id: str) -> JSONResponse:
    return _typed(404, "not_found_error", f"message batch {id!r} not found")


def _parsed(params: dict[str, Any]) -> Parsed:
    model, system, turns, max_tokens = _parse(params)
    return model, system, turns, max_tokens, _extras(params)


def _items(sim: Simulator, body: Any) -> list[BatchItem] | str:
    """The batch's requests, or why it is invalid."""
    requests = body.get("requests") if isinstance(body, dict) else None
    if not isinstance(requests, list) or not requests:
        return "requests: expected a non-empty list"
    items: list[BatchItem] = []
    seen: set[str] = set()
    for n, request in enumerate(requests):
        custom_id = request.get("custom_id") if isinstance(request, dict) else None
        params = request.get("params") if isinstance(request, dict) else None
        if not isinstance(custom_id, str) or not _CUSTOM_ID.match(custom_id):
            return f"requests.{n}.custom_id: expected 1 to 64 letters, digits, _ or -"
        if custom_id in seen:
            return f"requests.{n}.custom_id: {custom_id!r} is not unique in the batch"
        if not isinstance(params, dict) or not all(
            params.get(field) for field in ("model", "max_tokens", "messages")
        ):
            return f"requests.{n}.params: model, max_tokens and messages are required"
        if params.get("stream"):
            return f"requests.{n}.params.stream: streaming is not supported in batches"
        seen.add(custom_id)
        model, system, turns, _, extras = _parsed(params)
        tokens = input_estimate(system, turns, extras, sim.counter(PROVIDER, model))
        items.append(BatchItem(custom_id, model, params, tokens))
    return items


def _result(o: Outcome) -> dict[str, Any]:
    if o.kind == "succeeded":
        result: dict[str, Any] = {"type": "succeeded", "message": o.body}
    elif o.kind == "errored" and o.error is not None:
        error = _error(o.error.kind, o.error.message)
        result = {"type": "errored", "error": {**error, "request_id": new_id("req_")}}
    else:
        result = {"type": o.kind}
    return {"custom_id": o.custom_id, "result": result}


def _results_url(request: Request, job: BatchJob) -> str:
    prefix = f"/d/{job.deployment}" if job.deployment else ""
    base = str(request.base_url).rstrip("/")
    return f"{base}{prefix}/v1/messages/batches/{job.id}/results"


def _batch(request: Request, job: BatchJob, canceling: bool = False) -> dict[str, Any]:
    """The batch object; ``canceling``: as the answer to the cancel that ended it."""
    ended = job.ended_at()
    counts = job.counts()
    if canceling:  # Anthropic reports the cancel as under way; the next read, ended
        ended = None
        counts = {**counts, "processing": len(job.items), "canceled": 0}
    status = "canceling" if canceling else "in_progress" if ended is None else "ended"
    return {
        "id": job.id,
        "type": "message_batch",
        "processing_status": status,
        "request_counts": counts,
        "ended_at": _at(ended),
        "created_at": _at(job.created),
        "expires_at": _at(job.created + WINDOW_SECONDS),
        "archived_at": None,
        "cancel_initiated_at": _at(job.cancelled_at),
        "results_url": _results_url(request, job) if ended is not None else None,
    }


def router(sim: Simulator, store: BatchStore) -> APIRouter:
    api = APIRouter()

    def answerer(item: BatchItem, key: str) -> Answer | Refusal:
        decision = offline_admission(sim, PROVIDER, key, _parsed(item.body))
        if isinstance(decision, Refusal):
            return decision
        cache = _prompt_cache(sim, decision, item.body)
        return message_body(decision, cache), decision.input_tokens, decision.output_tokens

    def authorized(request: Request) -> tuple[str | None, JSONResponse | None]:
        key = _key(request)
        refusal = auth_refusal(key)
        if refusal is not None:
            return None, _refuse(refusal.status, refusal.kind, refusal.message)
        return key, None

    @api.post("/v1/messages/batches", response_model=None)
    async def create(request: Request) -> dict[str, Any] | JSONResponse:
        key, denied = authorized(request)
        if denied:
            return denied
        assert key is not None
        items = _items(sim, await request.json())
        if isinstance(items, str):
            return _invalid(items)
        deployment = deployment_of(request)
        refusal = store.admit(PROVIDER, key, deployment, items)
        if refusal is not None:
            return _refuse(refusal.status, refusal.kind, refusal.message)
        job = store.create(new_id("msgbatch_"), PROVIDER, key, deployment, items, answerer)
        body = _batch(request, job)
        # the create's answer: in progress, however short the delay
        return {**body, "processing_status": "in_progress", "ended_at": None, "results_url": None}

    @api.get("/v1/messages/batches", response_model=None)
    async def list_batches(request: Request) -> dict[str, Any] | JSONResponse:
        _, denied = authorized(request)
        if denied:
            return denied
        jobs = store.listed(PROVIDER)
        ids = [j.id for j in jobs]
        after, before = request.query_params.get("after_id"), request.query_params.get("before_id")
        if after:
            jobs = jobs[ids.index(after) + 1 :] if after in ids else []
        elif before:
            jobs = jobs[: ids.index(before)] if before in ids else []
        limit = int(request.query_params.get("limit") or 20)
        page = [_batch(request, j) for j in jobs[:limit]]
        return {
            "data": page,
            "has_more": len(jobs) > limit,
            "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None,
        }

    @api.get("/v1/messages/batches/{batch_id}", response_model=None)
    async def retrieve(batch_id: str, request: Request) -> dict[str, Any] | JSONResponse:
        _, denied = authorized(request)
        if denied:
            return denied
        job = store.get(batch_id, PROVIDER)
        return _batch(request, job) if job else _not_found(batch_id)

    @api.get("/v1/messages/batches/{batch_id}/results", response_model=None)
    async def results(batch_id: str, request: Request) -> Response:
        _, denied = authorized(request)
        if denied:
            return denied
        job = store.get(batch_id, PROVIDER)
        if job is None:
            return _not_found(batch_id)
        if job.outcomes is None:
            return _invalid(f"message batch {batch_id!r} has not ended: no results yet")
        lines = "".join(json.dumps(_result(o)) + "\n" for o in job.outcomes)
        return Response(lines.encode(), media_type="application/binary")

    @api.post("/v1/messages/batches/{batch_id}/cancel", response_model=None)
    async def cancel(batch_id: str, request: Request) -> dict[str, Any] | JSONResponse:
        _, denied = authorized(request)
        if denied:
            return denied
        job = store.get(batch_id, PROVIDER)
        if job is None:
            return _not_found(batch_id)
        running = job.status() == IN_PROGRESS
        store.cancel(job)
        return _batch(request, job, canceling=running)

    @api.delete("/v1/messages/batches/{batch_id}", response_model=None)
    async def delete(batch_id: str, request: Request) -> dict[str, Any] | JSONResponse:
        _, denied = authorized(request)
        if denied:
            return denied
        job = store.get(batch_id, PROVIDER)
        if job is None:
            return _not_found(batch_id)
        if job.status() == IN_PROGRESS:
            return _invalid(f"message batch {batch_id!r} is in progress: cancel it first")
        job.deleted = True
        return {"id": batch_id, "type": "message_batch_deleted"}

    return api

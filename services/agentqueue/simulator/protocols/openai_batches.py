"""OpenAI's Batch API: ``/v1/files`` (the JSONL in and out) and ``/v1/batches``.

A batch is a file of Chat Completions requests, one JSON line each
(``{"custom_id", "method": "POST", "url": "/v1/chat/completions", "body"}``), uploaded
with ``purpose=batch`` and named by ``POST /v1/batches``. It moves validating →
in_progress → finalizing → completed (or failed, cancelling → cancelled, expired) on the
clock of :mod:`agentqueue.simulator.batches`; once it ends, its ``output_file_id`` holds a
line per answered request and its ``error_file_id`` one per failed, expired or canceled
request, as OpenAI writes them.
"""

from __future__ import annotations

import json
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from agentqueue.simulator.batches import (
    CANCELLED,
    EXPIRED,
    FAILED,
    IN_PROGRESS,
    Answer,
    BatchItem,
    BatchJob,
    BatchStore,
    Outcome,
    Parsed,
    StoredFile,
    auth_refusal,
    new_id,
    offline_admission,
)
from agentqueue.simulator.deployments import deployment_of
from agentqueue.simulator.engine import Refusal, Simulator, input_estimate
from agentqueue.simulator.protocols.keys import bearer_token
from agentqueue.simulator.protocols.openai import _error, _extras, _parse, completion

PROVIDER = "openai"
ENDPOINTS = ("/v1/chat/completions",)
WINDOW_SECONDS = 24 * 3600
_EXPIRED = "This request could not be executed before the completion window expired."
_CANCELED = "This request was not executed because the batch was cancelled."


def _refuse(status: int, kind: str, message: str, param: str | None = None) -> JSONResponse:
    body = _error(kind, message)
    body["error"]["param"] = param
    return JSONResponse(body, status_code=status)


def _not_found(what: str, id: str) -> JSONResponse:
    body = _error("not_found", f"No such {what}: {id}")
    body["error"]["type"] = "invalid_request_error"
    return JSONResponse(body, status_code=404)


def _file_object(f: StoredFile) -> dict[str, Any]:
    return {
        "id": f.id,
        "object": "file",
        "bytes": len(f.content),
        "created_at": f.created_at,
        "filename": f.filename,
        "purpose": f.purpose,
        "status": "processed",
        "status_details": None,
        "expires_at": None,
    }


def _parsed(body: dict[str, Any]) -> Parsed:
    model, system, turns, max_tokens = _parse(body)
    return model, system, turns, max_tokens, _extras(body)


def _items(
    sim: Simulator, content: bytes, endpoint: str
) -> tuple[list[BatchItem], list[dict[str, Any]]]:
    """The file's requests, or why it is not a valid batch (OpenAI's error codes)."""
    items: list[BatchItem] = []
    errors: list[dict[str, Any]] = []

    def fail(line: int, code: str, message: str, param: str | None = None) -> None:
        errors.append({"code": code, "line": line, "message": message, "param": param})

    seen: set[str] = set()
    for number, raw in enumerate(content.decode("utf-8", "replace").splitlines(), 1):
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
        except ValueError:
            fail(number, "invalid_json_line", "This line is not parseable as valid JSON.")
            continue
        body = line.get("body") if isinstance(line, dict) else None
        custom_id = line.get("custom_id") if isinstance(line, dict) else None
        if not isinstance(custom_id, str) or not custom_id:
            fail(number, "missing_required_parameter", "custom_id is required.", "custom_id")
        elif custom_id in seen:
            fail(number, "duplicate_custom_id", "The custom_id for this request is a duplicate.")
        elif line.get("method") != "POST":
            fail(number, "invalid_method", "Only POST is supported.", "method")
        elif line.get("url") != endpoint:
            fail(number, "mismatched_endpoint", f"The url must be {endpoint}.", "url")
        elif not isinstance(body, dict) or not body.get("model"):
            fail(number, "missing_required_parameter", "body.model is required.", "body.model")
        elif items and body["model"] != items[0].model:
            fail(number, "mismatched_model", "Every request must use the same model.", "model")
        else:
            seen.add(custom_id)
            model, system, turns, _, extras = _parsed(body)
            tokens = input_estimate(system, turns, extras, sim.counter(PROVIDER, model))
            items.append(BatchItem(custom_id, model, body, tokens))
    if not items and not errors:
        fail(0, "empty_file", "The input file is empty.")
    return items, errors


def _status(job: BatchJob, now: float) -> tuple[str, dict[str, int]]:
    """OpenAI's status and the times it passed, from the job's status and the clock:
    validating for the first tenth of the delay, finalizing for the last."""
    status = job.status(now)
    if status == FAILED:
        return "failed", {"failed_at": int(job.created)}
    span = job.due - job.created
    started, finalizing = job.created + 0.1 * span, job.created + 0.9 * span
    until = job.ended_at(now) or now
    times = {}
    if started <= until:
        times["in_progress_at"] = int(started)
    if finalizing <= until:
        times["finalizing_at"] = int(finalizing)
    if status == IN_PROGRESS:
        phase = "validating" if now < started else "in_progress"
        return ("finalizing" if now >= finalizing else phase), times
    ended = int(until)
    if status == CANCELLED:
        return "cancelled", {**times, "cancelling_at": ended, "cancelled_at": ended}
    if status == EXPIRED:
        return "expired", {**times, "expired_at": ended}
    return "completed", {**times, "completed_at": ended}


def _line(o: Outcome) -> dict[str, Any]:
    request_id = new_id("req_")
    line: dict[str, Any] = {"id": new_id("batch_req_"), "custom_id": o.custom_id}
    if o.kind == "succeeded":
        response = {"status_code": 200, "request_id": request_id, "body": o.body}
        return {**line, "response": response, "error": None}
    if o.kind == "errored" and o.error is not None:
        body = _error(o.error.kind, o.error.message)
        response = {"status_code": o.error.status, "request_id": request_id, "body": body}
        return {**line, "response": response, "error": None}
    expired = o.kind == "expired"
    error = {
        "code": "batch_expired" if expired else "batch_cancelled",
        "message": _EXPIRED if expired else _CANCELED,
    }
    return {**line, "response": None, "error": error}


def _output_files(store: BatchStore, job: BatchJob) -> None:
    """Write the ended job's output and error files, once."""
    if job.outcomes is None or "files_written" in job.extra:
        return
    job.extra["files_written"] = True
    answered = [o for o in job.outcomes if o.kind == "succeeded"]
    failed = [o for o in job.outcomes if o.kind != "succeeded"]
    for name, kind, chosen in (
        ("output_file_id", "output", answered),
        ("error_file_id", "error", failed),
    ):
        if not chosen:
            continue
        content = "".join(json.dumps(_line(o)) + "\n" for o in chosen).encode()
        filename = f"{job.id}_{kind}.jsonl"
        stored = StoredFile(new_id("file-"), filename, "batch_output", content, int(time.time()))
        store.files[stored.id] = stored
        job.extra[name] = stored.id


def _batch(store: BatchStore, job: BatchJob, shown: str | None = None) -> dict[str, Any]:
    """The batch object; ``shown`` overrides the status (a create's ``validating``, a
    cancel's ``cancelling``), as the provider answers those calls."""
    now = time.time()
    _output_files(store, job)
    status, times = _status(job, now)
    counts = job.counts()
    tokens_in = sum(o.input_tokens for o in job.outcomes or [])
    tokens_out = sum(o.output_tokens for o in job.outcomes or [])
    body: dict[str, Any] = {
        "id": job.id,
        "object": "batch",
        "endpoint": job.extra["endpoint"],
        "model": job.items[0].model if job.items else None,
        "errors": {"object": "list", "data": job.errors} if job.errors else None,
        "input_file_id": job.extra["input_file_id"],
        "completion_window": job.extra["completion_window"],
        "status": shown or status,
        "output_file_id": job.extra.get("output_file_id"),
        "error_file_id": job.extra.get("error_file_id"),
        "created_at": int(job.created),
        "in_progress_at": None,
        "expires_at": int(job.created) + WINDOW_SECONDS,
        "finalizing_at": None,
        "completed_at": None,
        "failed_at": None,
        "expired_at": None,
        "cancelling_at": None,
        "cancelled_at": None,
        "request_counts": {
            "total": len(job.items),
            "completed": counts["succeeded"],
            "failed": counts["errored"] + counts["expired"] + counts["canceled"],
        },
        "usage": {
            "input_tokens": tokens_in,
            "output_tokens": tokens_out,
            "total_tokens": tokens_in + tokens_out,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens_details": {"reasoning_tokens": 0},
        },
        "metadata": job.extra.get("metadata"),
    }
    if shown == "validating":
        return body
    body.update(times)
    if shown == "cancelling":
        body["cancelled_at"] = None
    return body


def router(sim: Simulator, store: BatchStore) -> APIRouter:
    api = APIRouter()

    def answerer(item: BatchItem, key: str) -> Answer | Refusal:
        decision = offline_admission(sim, PROVIDER, key, _parsed(item.body))
        if isinstance(decision, Refusal):
            return decision
        return completion(decision), decision.input_tokens, decision.output_tokens

    def authorized(request: Request) -> tuple[str | None, JSONResponse | None]:
        key = bearer_token(request)
        refusal = auth_refusal(key)
        if refusal is not None:
            return None, _refuse(refusal.status, refusal.kind, refusal.message)
        return key, None

    @api.post("/v1/files", response_model=None)
    async def upload(request: Request) -> dict[str, Any] | JSONResponse:
        _, denied = authorized(request)
        if denied:
            return denied
        form = await request.form()
        upload = form.get("file")
        purpose = str(form.get("purpose") or "")
        if upload is None or isinstance(upload, str):
            return _refuse(400, "invalid_request", "a file is required", "file")
        if purpose not in ("batch", "assistants", "fine-tune", "user_data", "vision", "evals"):
            return _refuse(400, "invalid_request", f"invalid purpose {purpose!r}", "purpose")
        content = await upload.read()
        stored = StoredFile(
            new_id("file-"), upload.filename or "upload.jsonl", purpose, content, int(time.time())
        )
        store.files[stored.id] = stored
        return _file_object(stored)

    @api.get("/v1/files", response_model=None)
    async def list_files(request: Request) -> dict[str, Any] | JSONResponse:
        _, denied = authorized(request)
        if denied:
            return denied
        data = [_file_object(f) for f in store.files.values()]
        return {"object": "list", "data": data, "has_more": False}

    @api.get("/v1/files/{file_id}", response_model=None)
    async def get_file(file_id: str, request: Request) -> dict[str, Any] | JSONResponse:
        _, denied = authorized(request)
        if denied:
            return denied
        stored = store.files.get(file_id)
        return _file_object(stored) if stored else _not_found("File", file_id)

    @api.get("/v1/files/{file_id}/content", response_model=None)
    async def file_content(file_id: str, request: Request) -> Response:
        _, denied = authorized(request)
        if denied:
            return denied
        stored = store.files.get(file_id)
        if stored is None:
            return _not_found("File", file_id)
        return Response(stored.content, media_type="application/octet-stream")

    @api.delete("/v1/files/{file_id}", response_model=None)
    async def delete_file(file_id: str, request: Request) -> dict[str, Any] | JSONResponse:
        _, denied = authorized(request)
        if denied:
            return denied
        if store.files.pop(file_id, None) is None:
            return _not_found("File", file_id)
        return {"id": file_id, "object": "file", "deleted": True}

    @api.post("/v1/batches", response_model=None)
    async def create(request: Request) -> dict[str, Any] | JSONResponse:
        key, denied = authorized(request)
        if denied:
            return denied
        assert key is not None
        body = await request.json()
        if not isinstance(body, dict):
            return _refuse(400, "invalid_request", "expected a JSON object")
        endpoint = body.get("endpoint")
        if endpoint not in ENDPOINTS:
            return _refuse(
                400, "invalid_request", f"endpoint must be one of {list(ENDPOINTS)}", "endpoint"
            )
        if body.get("completion_window") != "24h":
            return _refuse(
                400, "invalid_request", "completion_window must be '24h'", "completion_window"
            )
        source = store.files.get(str(body.get("input_file_id")))
        if source is None:
            return _refuse(
                400,
                "invalid_request",
                f"No such File object: {body.get('input_file_id')}",
                "input_file_id",
            )
        deployment = deployment_of(request)
        items, errors = _items(sim, source.content, endpoint)
        if not errors:
            refusal = store.admit(PROVIDER, key, deployment, items)
            if refusal is not None:
                errors = [
                    {
                        "code": "token_limit_exceeded",
                        "line": None,
                        "message": refusal.message,
                        "param": None,
                    }
                ]
        job = store.create(
            new_id("batch_"),
            PROVIDER,
            key,
            deployment,
            items,
            answerer,
            errors=errors,
            extra={
                "endpoint": endpoint,
                "input_file_id": source.id,
                "completion_window": "24h",
                "metadata": body.get("metadata"),
            },
        )
        return _batch(store, job, shown="validating")

    @api.get("/v1/batches/{batch_id}", response_model=None)
    async def retrieve(batch_id: str, request: Request) -> dict[str, Any] | JSONResponse:
        _, denied = authorized(request)
        if denied:
            return denied
        job = store.get(batch_id, PROVIDER)
        return _batch(store, job) if job else _not_found("batch", batch_id)

    @api.post("/v1/batches/{batch_id}/cancel", response_model=None)
    async def cancel(batch_id: str, request: Request) -> dict[str, Any] | JSONResponse:
        _, denied = authorized(request)
        if denied:
            return denied
        job = store.get(batch_id, PROVIDER)
        if job is None:
            return _not_found("batch", batch_id)
        running = job.status() == IN_PROGRESS
        store.cancel(job)
        return _batch(store, job, shown="cancelling" if running else None)

    @api.get("/v1/batches", response_model=None)
    async def list_batches(request: Request) -> dict[str, Any] | JSONResponse:
        _, denied = authorized(request)
        if denied:
            return denied
        jobs = store.listed(PROVIDER)
        after = request.query_params.get("after")
        if after:
            ids = [j.id for j in jobs]
            jobs = jobs[ids.index(after) + 1 :] if after in ids else []
        limit = int(request.query_params.get("limit") or 20)
        page = [_batch(store, j) for j in jobs[:limit]]
        return {
            "object": "list",
            "data": page,
            "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None,
            "has_more": len(jobs) > limit,
        }

    return api

"""Gemini Batch Mode (the Gemini API's, not Vertex AI's): ``models/{model}:batchGenerateContent``
with inlined requests, and ``batches/{id}`` (get, ``:cancel``, delete, list).

google-genai sends ``{"batch": {"displayName", "inputConfig": {"requests": {"requests":
[{"request": <GenerateContentRequest>, "metadata": {...}}]}}}}`` and reads back a
long-running operation whose ``metadata`` is the batch: ``state`` BATCH_STATE_PENDING →
RUNNING → SUCCEEDED (or CANCELLED, EXPIRED), and, once succeeded, ``output.inlinedResponses``
— a response or an error per request, in the requests' order, with their metadata.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import Scope

from agentqueue.simulator.batches import (
    CANCELLED,
    COMPLETED,
    EXPIRED,
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
from agentqueue.simulator.protocols.gemini import (
    _answer_parts,
    _error,
    _extras,
    _finish,
    _parse,
    _response,
)

PROVIDER = "google"
_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch"
_OUTPUT_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatchOutput"
_STATES = {
    IN_PROGRESS: "BATCH_STATE_RUNNING",
    COMPLETED: "BATCH_STATE_SUCCEEDED",
    CANCELLED: "BATCH_STATE_CANCELLED",
    EXPIRED: "BATCH_STATE_EXPIRED",
}


def _at(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat().replace("+00:00", "Z")


def _fail(status: int, message: str) -> JSONResponse:
    body = _error(Refusal(status, "invalid", message))
    if status == 404:
        body["error"]["status"] = "NOT_FOUND"
    return JSONResponse(body, status_code=status)


def _model(name: Any) -> str:
    return str(name or "").removeprefix("models/")


def _parsed(model: str, body: dict[str, Any]) -> Parsed:
    system, turns, max_tokens = _parse(body)
    return model, system, turns, max_tokens, _extras(body)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _items(sim: Simulator, model: str, body: Any) -> list[BatchItem] | str:
    """The batch's inlined requests (their ``metadata`` kept), or why it is invalid."""
    batch = body.get("batch") if isinstance(body, dict) else None
    config = _dict(batch).get("inputConfig") or _dict(batch).get("input_config")
    if _dict(config).get("fileName") or _dict(config).get("file_name"):
        return "inputConfig.fileName: only inlined requests are simulated"
    requests = _dict(_dict(config).get("requests")).get("requests")
    if not isinstance(requests, list) or not requests:
        return "batch.inputConfig.requests.requests: expected a non-empty list"
    items = []
    for n, entry in enumerate(requests):
        request = entry.get("request") if isinstance(entry, dict) else None
        if not isinstance(request, dict) or not request.get("contents"):
            return f"requests[{n}].request.contents is required"
        own = _model(request.get("model")) or model
        system, turns, _, extras = _parsed(own, request)[1:]
        tokens = input_estimate(system, turns, extras, sim.counter(PROVIDER, own))
        metadata = entry.get("metadata")
        # the custom id: the metadata's key if it has one, else the request's position
        key = metadata.get("key") if isinstance(metadata, dict) else None
        body_with_metadata = {"request": request, "metadata": metadata}
        items.append(BatchItem(str(key or n), own, body_with_metadata, tokens))
    return items


def _inlined(item: BatchItem, o: Outcome) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if o.kind == "succeeded":
        out["response"] = o.body
    elif o.error is not None:
        out["error"] = _error(o.error)["error"]
    if item.body.get("metadata") is not None:
        out["metadata"] = item.body["metadata"]
    return out


def _operation(job: BatchJob, state: str | None = None) -> dict[str, Any]:
    """The long-running operation google-genai reads the batch from; ``state`` overrides
    the clock's (a create's answer is pending)."""
    status = job.status()
    ended = job.ended_at()
    counts = job.counts()
    name = f"batches/{job.id}"
    metadata: dict[str, Any] = {
        "@type": _TYPE,
        "name": name,
        "model": f"models/{job.extra['model']}",
        "displayName": job.extra.get("display_name") or name,
        "state": state or _STATES[status],
        "createTime": _at(job.created),
        "updateTime": _at(ended or job.created),
        "batchStats": {
            "requestCount": str(len(job.items)),
            "successfulRequestCount": str(counts["succeeded"]),
            "failedRequestCount": str(counts["errored"]),
            "pendingRequestCount": str(counts["processing"]),
        },
    }
    operation: dict[str, Any] = {"name": name, "metadata": metadata, "done": False}
    if state is not None or ended is None:
        return operation
    metadata["endTime"] = _at(ended)
    operation["done"] = True
    if status == COMPLETED and job.outcomes is not None:
        responses = [_inlined(i, o) for i, o in zip(job.items, job.outcomes, strict=True)]
        output = {"inlinedResponses": {"inlinedResponses": responses}}
        metadata["output"] = output
        operation["response"] = {"@type": _OUTPUT_TYPE, **output}
    return operation


def _key(request: Request) -> str | None:
    return request.headers.get("x-goog-api-key") or request.query_params.get("key")


class GeminiRoute(APIRoute):
    """A route that leaves ``/v1/batches…`` to OpenAI's Batch API unless the call carries
    a Gemini key: both providers have that path, on different hosts in production."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and scope["path"].startswith("/v1/batches"):
            headers = dict(scope.get("headers") or [])
            query = scope.get("query_string", b"")
            gemini = b"x-goog-api-key" in headers or query.startswith(b"key=") or b"&key=" in query
            if not gemini:
                return Match.NONE, {}
        return super().matches(scope)


def router(sim: Simulator, store: BatchStore) -> APIRouter:
    api = APIRouter(route_class=GeminiRoute)

    def answerer(item: BatchItem, key: str) -> Answer | Refusal:
        decision = offline_admission(sim, PROVIDER, key, _parsed(item.model, item.body["request"]))
        if isinstance(decision, Refusal):
            return decision
        body = _response(
            decision, _answer_parts(decision), _finish(decision), decision.output_tokens
        )
        return body, decision.input_tokens, decision.output_tokens

    def authorized(request: Request) -> tuple[str | None, JSONResponse | None]:
        key = _key(request)
        refusal = auth_refusal(key)
        if refusal is not None:
            return None, JSONResponse(_error(refusal), status_code=refusal.status)
        return key, None

    def found(batch_id: str) -> BatchJob | JSONResponse:
        job = store.get(batch_id, PROVIDER)
        return job or _fail(404, f"batch batches/{batch_id} not found")

    @api.post("/v1beta/models/{model}:batchGenerateContent", response_model=None)
    @api.post("/v1/models/{model}:batchGenerateContent", response_model=None)
    async def create(model: str, request: Request) -> dict[str, Any] | JSONResponse:
        key, denied = authorized(request)
        if denied:
            return denied
        assert key is not None
        body = await request.json()
        items = _items(sim, _model(model), body)
        if isinstance(items, str):
            return _fail(400, items)
        deployment = deployment_of(request)
        refusal = store.admit(PROVIDER, key, deployment, items)
        if refusal is not None:
            return JSONResponse(_error(refusal), status_code=refusal.status)
        display = (body.get("batch") or {}).get("displayName")
        extra = {"model": _model(model), "display_name": display}
        job = store.create(new_id(""), PROVIDER, key, deployment, items, answerer, extra=extra)
        return _operation(job, state="BATCH_STATE_PENDING")

    @api.get("/v1beta/batches", response_model=None)
    @api.get("/v1/batches", response_model=None)
    async def list_batches(request: Request) -> dict[str, Any] | JSONResponse:
        _, denied = authorized(request)
        if denied:
            return denied
        size = int(request.query_params.get("pageSize") or 50)
        return {"operations": [_operation(j) for j in store.listed(PROVIDER)[:size]]}

    @api.get("/v1beta/batches/{batch_id}", response_model=None)
    @api.get("/v1/batches/{batch_id}", response_model=None)
    async def get(batch_id: str, request: Request) -> dict[str, Any] | JSONResponse:
        _, denied = authorized(request)
        if denied:
            return denied
        job = found(batch_id)
        return job if isinstance(job, JSONResponse) else _operation(job)

    @api.post("/v1beta/batches/{batch_id}:cancel", response_model=None)
    @api.post("/v1/batches/{batch_id}:cancel", response_model=None)
    async def cancel(batch_id: str, request: Request) -> dict[str, Any] | JSONResponse:
        _, denied = authorized(request)
        if denied:
            return denied
        job = found(batch_id)
        if isinstance(job, JSONResponse):
            return job
        store.cancel(job)
        return {}

    @api.delete("/v1beta/batches/{batch_id}", response_model=None)
    @api.delete("/v1/batches/{batch_id}", response_model=None)
    async def delete(batch_id: str, request: Request) -> dict[str, Any] | JSONResponse:
        _, denied = authorized(request)
        if denied:
            return denied
        job = found(batch_id)
        if isinstance(job, JSONResponse):
            return job
        job.deleted = True
        return {}

    return api

"""OpenAI's Files and Batch APIs on the gateway, passed through to OpenAI.

For clients that batch themselves (issue 20): ``client.files.create(purpose="batch")``,
``client.batches.create/retrieve/cancel/list`` and ``client.files.content`` of the
official ``openai`` SDK, pointed at ``<gateway>/v1``, work unchanged. Each call is
forwarded through the SDK client of the first ``openai`` deployment (its key, base URL
and error types), so the batch runs at OpenAI's batch prices, not through the gateway's
limiter.

What the gateway adds: an uploaded file is checked line by line before it leaves (each
``url`` ``/v1/chat/completions`` or ``/v1/embeddings``, each ``body.model`` a catalog
model of OpenAI's that the caller's key may use — 400 or 403 naming the line), its model
names rewritten to the deployment's own; ids are the caller's tenant's alone
(:mod:`.batch_owners`: another tenant's is 404); and the first read of a batch's output
file records each succeeded request's usage and cost, at batch prices, in the tenant's
ledger, once. Errors are OpenAI's envelope (:mod:`.openai_errors`).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable
from decimal import Decimal
from typing import Annotated, Any

import httpx2
import openai
from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from agentqueue.core.apikeys import ApiKeyRecord
from agentqueue.core.llm.catalog import Catalog, UnknownModel
from agentqueue.core.llm.messages import Usage
from agentqueue.core.llm.providers.base import Provider
from agentqueue.core.ratelimit.quotas import TenantQuotas
from agentqueue.gateway.api.deps import CallerDep
from agentqueue.gateway.compat.batch_owners import (
    BATCH_DISCOUNT,
    Owner,
    batch_cost,
    batch_provider,
    catalog_name,
    catalog_of,
    owners,
    record_once,
    reverse_names,
    sdk_client,
    served_model,
)
from agentqueue.gateway.compat.openai_errors import (
    OpenAIError,
    OpenAIRoute,
    openai_error_responses,
)

router = APIRouter(tags=["openai-compatible"], route_class=OpenAIRoute)

#: The endpoints a batch line may call.
BATCH_URLS = ("/v1/chat/completions", "/v1/embeddings")
_ERRORS = {
    **openai_error_responses(400, 403, 404, 413, 429, 500, 502),
    404: {
        **openai_error_responses(404)[404],
        "description": "No such file or batch of the caller's tenant (`error.param`: `id`).",
    },
}
_JSON_200: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "OpenAI's object, as OpenAI answered it.",
        "content": {"application/json": {}},
    }
}
_ID = Annotated[str, Field(min_length=1, max_length=200)]


def _provider(request: Request) -> Provider:
    provider = batch_provider(request, "openai")
    if provider is None:
        raise OpenAIError(
            503,
            "no OpenAI deployment is configured: the batch API passes through to one",
            type="server_error",
        )
    return provider


def _not_found(kind: str, object_id: str) -> OpenAIError:
    return OpenAIError(404, f"No such {kind}: '{object_id}'", param="id")


def _upstream(exc: openai.APIError) -> OpenAIError:
    """OpenAI's refusal of a forwarded call, as the caller's error."""
    if isinstance(exc, openai.APIConnectionError):
        return OpenAIError(503, f"OpenAI is unreachable: {exc}", type="server_error")
    status = exc.status_code if isinstance(exc, openai.APIStatusError) else 502
    if status == 404:
        return OpenAIError(404, exc.message, param="id")
    if status in (400, 409, 413, 422):
        return OpenAIError(400, exc.message)
    if status == 429:
        return OpenAIError(429, exc.message, type="requests", code="rate_limit_exceeded")
    # 401/403 are the gateway's own account, 5xx the provider's fault: not the caller's
    return OpenAIError(502, f"OpenAI answered {status}: {exc.message}", type="server_error")


async def _call(awaitable: Awaitable[httpx2.Response]) -> httpx2.Response:
    try:
        return await awaitable
    except openai.APIError as exc:
        raise _upstream(exc) from None


def _json(response: httpx2.Response) -> dict[str, Any]:
    data = response.json()
    if not isinstance(data, dict):
        raise OpenAIError(
            502, "OpenAI answered something other than an object", type="server_error"
        )
    return data


async def _owned(request: Request, kind: str, object_id: str, caller: ApiKeyRecord) -> Owner:
    owner = await owners(request).owned(kind, object_id, caller.tenant)
    if owner is None:
        raise _not_found("File" if kind == "file" else "Batch", object_id)
    return owner


# -- files ---------------------------------------------------------------------------------


def _bad_line(n: int, message: str, param: str | None = None) -> OpenAIError:
    return OpenAIError(400, f"line {n}: {message}", param=param or "file")


def _checked_line(
    n: int, text: str, catalog: Catalog, provider: Provider, caller: ApiKeyRecord
) -> dict[str, Any]:
    """Line ``n`` of a batch file, its model rewritten to the deployment's id."""
    try:
        line = json.loads(text)
    except ValueError as exc:
        raise _bad_line(n, f"not JSON ({exc})") from None
    if not isinstance(line, dict) or not isinstance(line.get("body"), dict):
        raise _bad_line(n, "must be an object with 'custom_id', 'method', 'url' and 'body'")
    if not isinstance(line.get("custom_id"), str) or not line["custom_id"]:
        raise _bad_line(n, "'custom_id' must be a non-empty string")
    url = line.get("url")
    if url not in BATCH_URLS:
        raise _bad_line(n, f"'url' {url!r} is not one of {', '.join(BATCH_URLS)}")
    name = line["body"].get("model")
    if url == "/v1/embeddings":
        try:
            embedding = catalog.embedding_model(str(name))
        except UnknownModel:
            embedding = None
        model = embedding.model if embedding and embedding.provider == "openai" else None
    else:
        info = served_model(catalog, "openai", name)
        model = info.model if info else None
    if model is None:
        raise _bad_line(n, f"'body.model' {name!r} is not an OpenAI model of the catalog")
    if not caller.allows_model(model):
        allowed = ", ".join(caller.allowed_models or [])
        raise OpenAIError(
            403,
            f"line {n}: this API key may not use model {name!r}; allowed: {allowed}",
            param="file",
            code="permission_denied",
        )
    line["body"] = {**line["body"], "model": provider.config.remote_model(model)}
    return line


def checked_file(data: bytes, catalog: Catalog, provider: Provider, caller: ApiKeyRecord) -> bytes:
    """A batch file's JSONL, every line checked and its model rewritten (see the module
    docstring); 400 or 403 naming the first bad line."""
    try:
        text = data.decode()
    except UnicodeDecodeError:
        raise OpenAIError(400, "the file is not UTF-8 text", param="file") from None
    out = []
    seen: set[str] = set()
    for n, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        line = _checked_line(n, raw, catalog, provider, caller)
        if line["custom_id"] in seen:
            raise _bad_line(n, f"'custom_id' {line['custom_id']!r} is used twice")
        seen.add(line["custom_id"])
        out.append(json.dumps(line, separators=(",", ":")))
    if not out:
        raise OpenAIError(400, "the file holds no requests", param="file")
    return ("\n".join(out) + "\n").encode()


@router.post("/v1/files", response_model=None, responses={**_JSON_200, **_ERRORS})
async def create_file(
    request: Request,
    caller: CallerDep,
    file: Annotated[UploadFile, File(description="The batch's requests, as JSONL.")],
    purpose: Annotated[str, Form(max_length=50)],
) -> Response:
    """Upload a batch input file (``purpose: batch``), checked, to OpenAI."""
    if purpose != "batch":
        raise OpenAIError(
            400, f"purpose {purpose!r}: only 'batch' is passed through", param="purpose"
        )
    provider = _provider(request)
    body = checked_file(await file.read(), catalog_of(request), provider, caller)
    client = sdk_client(provider)
    try:
        raw = await client.files.with_raw_response.create(
            file=(file.filename or "batch.jsonl", body, "application/jsonl"), purpose="batch"
        )
    except openai.APIError as exc:
        raise _upstream(exc) from None
    created = _json(raw.http_response)
    await owners(request).claim("file", str(created["id"]), caller)
    return JSONResponse(created)


@router.get("/v1/files/{file_id}", response_model=None, responses={**_JSON_200, **_ERRORS})
async def retrieve_file(file_id: _ID, request: Request, caller: CallerDep) -> Response:
    """A file of the caller's tenant."""
    await _owned(request, "file", file_id, caller)
    client = sdk_client(_provider(request))
    response = await _call(client.get(f"/files/{file_id}", cast_to=httpx2.Response))
    return JSONResponse(_json(response))


@router.delete("/v1/files/{file_id}", response_model=None, responses={**_JSON_200, **_ERRORS})
async def delete_file(file_id: _ID, request: Request, caller: CallerDep) -> Response:
    """Delete a file of the caller's tenant."""
    await _owned(request, "file", file_id, caller)
    client = sdk_client(_provider(request))
    response = await _call(client.delete(f"/files/{file_id}", cast_to=httpx2.Response))
    await owners(request).forget("file", file_id)
    return JSONResponse(_json(response))


@router.get(
    "/v1/files/{file_id}/content",
    response_model=None,
    responses={
        200: {
            "description": "The file's bytes (JSONL).",
            "content": {"application/octet-stream": {}},
        },
        **_ERRORS,
    },
)
async def file_content(file_id: _ID, request: Request, caller: CallerDep) -> Response:
    """A file's content; a batch's output file's first read records its usage."""
    owner = await _owned(request, "file", file_id, caller)
    provider = _provider(request)
    client = sdk_client(provider)
    response = await _call(
        client.get(
            f"/files/{file_id}/content",
            cast_to=httpx2.Response,
            options={"headers": {"Accept": "application/binary"}},
        )
    )
    batch_id = await owners(request).batch_of_output(file_id)
    if batch_id is not None:
        entries = output_usage(response.content, catalog_of(request), provider)
        await record_once(request, batch_id, owner, entries)
    media = response.headers.get("content-type") or "application/octet-stream"
    return Response(response.content, media_type=media)


def _usage_of(u: dict[str, Any]) -> Usage:
    """OpenAI's usage (prompt tokens include the cached ones) as ours."""
    details = u.get("prompt_tokens_details") or {}
    cached = int(details.get("cached_tokens") or 0)
    return Usage(
        input_tokens=int(u.get("prompt_tokens") or 0) - cached,
        output_tokens=int(u.get("completion_tokens") or 0),
        cache_read_tokens=cached,
    )


def output_usage(
    content: bytes, catalog: Catalog, provider: Provider
) -> list[tuple[str, Usage, Decimal]]:
    """(catalog model, usage, batch cost) of each succeeded request of an output file."""
    names = reverse_names(catalog, provider)
    for e in catalog.embedding_models:
        if e.provider == "openai":
            names.setdefault(provider.config.remote_model(e.model), e.model)
            names.setdefault(e.model, e.model)
    out = []
    for raw in content.decode(errors="replace").splitlines():
        try:
            line = json.loads(raw)
        except ValueError:
            continue
        response = line.get("response") if isinstance(line, dict) else None
        if not isinstance(response, dict) or response.get("status_code") != 200:
            continue
        body = response.get("body")
        if not isinstance(body, dict) or not isinstance(body.get("usage"), dict):
            continue
        model = catalog_name(names, body.get("model"))
        if model is None:
            continue
        usage = _usage_of(body["usage"])
        if body.get("object") == "list":  # an embedding
            try:
                info = catalog.embedding_model(model)
            except UnknownModel:
                continue
            cost = info.cost_usd(usage.input_tokens) * BATCH_DISCOUNT
            out.append((model, Usage(input_tokens=usage.input_tokens), cost))
            continue
        out.append((model, usage, batch_cost(catalog.get(model), usage)))
    return out


# -- batches -------------------------------------------------------------------------------


class BatchBody(BaseModel):
    """``POST /v1/batches``; fields OpenAI adds later are passed on."""

    model_config = ConfigDict(extra="allow")

    input_file_id: str = Field(min_length=1, max_length=200)
    endpoint: str = Field(min_length=1, max_length=100)
    completion_window: str = Field(default="24h", max_length=20)
    metadata: dict[str, str] | None = None


async def _adopt(request: Request, batch: dict[str, Any], owner: Owner) -> None:
    """Give the batch's output and error files to its owner; remember the output file's
    batch (its first read records the usage)."""
    marks = owners(request)
    for field in ("output_file_id", "error_file_id"):
        file_id = batch.get(field)
        if isinstance(file_id, str) and file_id:
            await marks.claim_for("file", file_id, owner)
    output = batch.get("output_file_id")
    if isinstance(output, str) and output and isinstance(batch.get("id"), str):
        await marks.mark_output(output, batch["id"])


@router.post("/v1/batches", response_model=None, responses={**_JSON_200, **_ERRORS})
async def create_batch(body: BatchBody, request: Request, caller: CallerDep) -> Response:
    """Start a batch of an uploaded file of the caller's tenant."""
    endpoint = body.endpoint if body.endpoint.startswith("/v1/") else f"/v1{body.endpoint}"
    if endpoint not in BATCH_URLS:
        raise OpenAIError(
            400,
            f"endpoint {body.endpoint!r} is not one of {', '.join(BATCH_URLS)}",
            param="endpoint",
        )
    await _owned(request, "file", body.input_file_id, caller)
    quotas: TenantQuotas = request.app.state.quotas
    await quotas.check_spend(caller.tenant)  # 429 when the day's spend is used up
    client = sdk_client(_provider(request))
    payload = body.model_dump(exclude_none=True)
    response = await _call(client.post("/batches", body=payload, cast_to=httpx2.Response))
    batch = _json(response)
    await owners(request).claim("batch", str(batch["id"]), caller)
    return JSONResponse(batch)


@router.get("/v1/batches/{batch_id}", response_model=None, responses={**_JSON_200, **_ERRORS})
async def retrieve_batch(batch_id: _ID, request: Request, caller: CallerDep) -> Response:
    """A batch of the caller's tenant."""
    owner = await _owned(request, "batch", batch_id, caller)
    client = sdk_client(_provider(request))
    batch = _json(await _call(client.get(f"/batches/{batch_id}", cast_to=httpx2.Response)))
    await _adopt(request, batch, owner)
    return JSONResponse(batch)


@router.post(
    "/v1/batches/{batch_id}/cancel", response_model=None, responses={**_JSON_200, **_ERRORS}
)
async def cancel_batch(batch_id: _ID, request: Request, caller: CallerDep) -> Response:
    """Cancel a batch of the caller's tenant."""
    owner = await _owned(request, "batch", batch_id, caller)
    client = sdk_client(_provider(request))
    batch = _json(await _call(client.post(f"/batches/{batch_id}/cancel", cast_to=httpx2.Response)))
    await _adopt(request, batch, owner)
    return JSONResponse(batch)


@router.get("/v1/batches", response_model=None, responses={**_JSON_200, **_ERRORS})
async def list_batches(
    request: Request,
    caller: CallerDep,
    after: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Response:
    """The caller's tenant's batches among OpenAI's page (``after``, ``limit``): a page
    may hold fewer than ``limit``; ``has_more`` and ``last_id`` are OpenAI's, to page on."""
    client = sdk_client(_provider(request))
    params: dict[str, Any] = {"limit": limit}
    if after:
        params["after"] = after
    page = _json(
        await _call(client.get("/batches", cast_to=httpx2.Response, options={"params": params}))
    )
    data = [b for b in page.get("data") or [] if isinstance(b, dict)]
    mine = await owners(request).owned_ids("batch", [str(b.get("id")) for b in data], caller.tenant)
    kept = [b for b in data if str(b.get("id")) in mine]
    return JSONResponse(
        {
            "object": "list",
            "data": kept,
            "first_id": kept[0]["id"] if kept else None,
            "last_id": page.get("last_id"),
            "has_more": bool(page.get("has_more")),
        }
    )

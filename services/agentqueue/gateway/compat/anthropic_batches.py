"""Anthropic's Message Batches API on the gateway, passed through to Anthropic.

For clients that batch themselves (issue 20): ``client.messages.batches.create``,
``retrieve``, ``results``, ``cancel``, ``list`` and ``delete`` of the official
``anthropic`` SDK, pointed at the gateway, work unchanged. Each call is forwarded through
the SDK client of the first ``anthropic`` deployment (its key, base URL and error types),
so the batch runs at Anthropic's batch prices, not through the gateway's limiter.

What the gateway adds: each request's ``params.model`` must be a Claude model of the
catalog that the caller's key may use (400 or 403 naming ``requests[i]``) and is
rewritten to the deployment's own id; ids are the caller's tenant's alone
(:mod:`.batch_owners`: another tenant's is 404); a batch's ``results_url`` points back at
the gateway (the SDK's ``results`` follows it), and the first read of an ended batch's
results records each succeeded request's usage and cost, at batch prices, in the
tenant's ledger, once. Errors are Anthropic's envelope (:mod:`.anthropic_errors`).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable
from decimal import Decimal
from typing import Annotated, Any

import anthropic
import httpx2
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from agentqueue.core.apikeys import ApiKeyRecord
from agentqueue.core.llm.catalog import Catalog
from agentqueue.core.llm.messages import Usage
from agentqueue.core.llm.providers.base import Provider
from agentqueue.core.ratelimit.quotas import TenantQuotas
from agentqueue.gateway.api.deps import CallerDep
from agentqueue.gateway.compat.anthropic_errors import AnthropicRoute, anthropic_error_responses
from agentqueue.gateway.compat.batch_owners import (
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

router = APIRouter(tags=["anthropic-compatible"], route_class=AnthropicRoute)

_ERRORS = {
    **anthropic_error_responses(403, 404, 413, 429),
    404: {
        **anthropic_error_responses(404)[404],
        "description": "not_found_error: no such message batch of the caller's tenant.",
    },
}
_JSON_200: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Anthropic's object, as Anthropic answered it.",
        "content": {"application/json": {}},
    }
}
_ID = Annotated[str, Field(min_length=1, max_length=200)]
_PATH = "/v1/messages/batches"


def _refuse(status: int, message: str) -> HTTPException:
    """An error :class:`AnthropicRoute` answers in Anthropic's envelope with ``status``."""
    return HTTPException(status, message)


def _provider(request: Request) -> Provider:
    provider = batch_provider(request, "anthropic")
    if provider is None:
        raise _refuse(
            529, "no Anthropic deployment is configured: the batch API passes through to one"
        )
    return provider


def _not_found(batch_id: str) -> HTTPException:
    return _refuse(404, f"message batch {batch_id!r} not found")


def _upstream(exc: anthropic.APIError) -> HTTPException:
    """Anthropic's refusal of a forwarded call, as the caller's error."""
    if isinstance(exc, anthropic.APIConnectionError):
        return _refuse(529, f"Anthropic is unreachable: {exc}")
    status = exc.status_code if isinstance(exc, anthropic.APIStatusError) else 500
    if status in (400, 404, 413, 429):
        return _refuse(status, exc.message)
    if status in (409, 422):
        return _refuse(400, exc.message)
    # 401/403 are the gateway's own account, 5xx the provider's fault: not the caller's
    return _refuse(500, f"Anthropic answered {status}: {exc.message}")


async def _call(awaitable: Awaitable[httpx2.Response]) -> httpx2.Response:
    try:
        return await awaitable
    except anthropic.APIError as exc:
        raise _upstream(exc) from None


def _json(response: httpx2.Response) -> dict[str, Any]:
    data = response.json()
    if not isinstance(data, dict):
        raise _refuse(500, "Anthropic answered something other than an object")
    return data


async def _owned(request: Request, batch_id: str, caller: ApiKeyRecord) -> Owner:
    owner = await owners(request).owned("message_batch", batch_id, caller.tenant)
    if owner is None:
        raise _not_found(batch_id)
    return owner


def _results_url(request: Request, batch: dict[str, Any]) -> dict[str, Any]:
    """The batch with its ``results_url`` at the gateway (the SDK follows it)."""
    if batch.get("results_url") and isinstance(batch.get("id"), str):
        base = str(request.base_url).rstrip("/")
        batch = {**batch, "results_url": f"{base}{_PATH}/{batch['id']}/results"}
    return batch


class BatchRequest(BaseModel):
    """One request of a batch: its id, and the Messages API parameters (passed on)."""

    custom_id: str = Field(min_length=1, max_length=64)
    params: dict[str, Any]


class CreateBody(BaseModel):
    """``POST /v1/messages/batches``."""

    model_config = ConfigDict(extra="forbid")

    requests: list[BatchRequest] = Field(min_length=1, max_length=100_000)


def checked_requests(
    body: CreateBody, catalog: Catalog, provider: Provider, caller: ApiKeyRecord
) -> list[dict[str, Any]]:
    """The requests with their models rewritten to the deployment's ids; 400 or 403
    naming the first bad one."""
    out = []
    seen: set[str] = set()
    for i, item in enumerate(body.requests):
        where = f"body.requests.{i}"
        if item.custom_id in seen:
            raise _refuse(400, f"{where}.custom_id: {item.custom_id!r} is used twice")
        seen.add(item.custom_id)
        name = item.params.get("model")
        info = served_model(catalog, "anthropic", name)
        if info is None:
            raise _refuse(
                400, f"{where}.params.model: {name!r} is not a Claude model of the catalog"
            )
        if not caller.allows_model(info.model):
            allowed = ", ".join(caller.allowed_models or [])
            raise _refuse(
                403,
                f"{where}.params.model: this API key may not use model {name!r}; "
                f"allowed: {allowed}",
            )
        params = {**item.params, "model": provider.config.remote_model(info.model)}
        out.append({"custom_id": item.custom_id, "params": params})
    return out


@router.post(_PATH, response_model=None, responses={**_JSON_200, **_ERRORS})
async def create_batch(body: CreateBody, request: Request, caller: CallerDep) -> Response:
    """Start a message batch, checked, at Anthropic."""
    provider = _provider(request)
    requests = checked_requests(body, catalog_of(request), provider, caller)
    quotas: TenantQuotas = request.app.state.quotas
    await quotas.check_spend(caller.tenant)  # 429 when the day's spend is used up
    client = sdk_client(provider)
    batch = _json(
        await _call(client.post(_PATH, body={"requests": requests}, cast_to=httpx2.Response))
    )
    await owners(request).claim("message_batch", str(batch["id"]), caller)
    return JSONResponse(_results_url(request, batch))


@router.get(f"{_PATH}/{{batch_id}}", response_model=None, responses={**_JSON_200, **_ERRORS})
async def retrieve_batch(batch_id: _ID, request: Request, caller: CallerDep) -> Response:
    """A message batch of the caller's tenant."""
    await _owned(request, batch_id, caller)
    client = sdk_client(_provider(request))
    batch = _json(await _call(client.get(f"{_PATH}/{batch_id}", cast_to=httpx2.Response)))
    return JSONResponse(_results_url(request, batch))


@router.post(
    f"{_PATH}/{{batch_id}}/cancel", response_model=None, responses={**_JSON_200, **_ERRORS}
)
async def cancel_batch(batch_id: _ID, request: Request, caller: CallerDep) -> Response:
    """Cancel a message batch of the caller's tenant."""
    await _owned(request, batch_id, caller)
    client = sdk_client(_provider(request))
    batch = _json(await _call(client.post(f"{_PATH}/{batch_id}/cancel", cast_to=httpx2.Response)))
    return JSONResponse(_results_url(request, batch))


@router.delete(f"{_PATH}/{{batch_id}}", response_model=None, responses={**_JSON_200, **_ERRORS})
async def delete_batch(batch_id: _ID, request: Request, caller: CallerDep) -> Response:
    """Delete an ended message batch of the caller's tenant."""
    await _owned(request, batch_id, caller)
    client = sdk_client(_provider(request))
    deleted = _json(await _call(client.delete(f"{_PATH}/{batch_id}", cast_to=httpx2.Response)))
    await owners(request).forget("message_batch", batch_id)
    return JSONResponse(deleted)


@router.get(
    f"{_PATH}/{{batch_id}}/results",
    response_model=None,
    responses={
        200: {"description": "The results, as JSONL.", "content": {"application/binary": {}}},
        **_ERRORS,
    },
)
async def batch_results(batch_id: _ID, request: Request, caller: CallerDep) -> Response:
    """An ended batch's results; the first read records their usage."""
    owner = await _owned(request, batch_id, caller)
    provider = _provider(request)
    client = sdk_client(provider)
    batch = _json(await _call(client.get(f"{_PATH}/{batch_id}", cast_to=httpx2.Response)))
    url = batch.get("results_url")
    if not isinstance(url, str) or not url:
        status = batch.get("processing_status")
        raise _refuse(404, f"message batch {batch_id!r} has no results yet ({status})")
    response = await _call(
        client.get(
            url, cast_to=httpx2.Response, options={"headers": {"Accept": "application/binary"}}
        )
    )
    entries = results_usage(response.content, catalog_of(request), provider)
    await record_once(request, batch_id, owner, entries)
    media = response.headers.get("content-type") or "application/binary"
    return Response(response.content, media_type=media)


def _usage_of(u: dict[str, Any]) -> Usage:
    return Usage(
        input_tokens=int(u.get("input_tokens") or 0),
        output_tokens=int(u.get("output_tokens") or 0),
        cache_read_tokens=int(u.get("cache_read_input_tokens") or 0),
        cache_write_tokens=int(u.get("cache_creation_input_tokens") or 0),
    )


def results_usage(
    content: bytes, catalog: Catalog, provider: Provider
) -> list[tuple[str, Usage, Decimal]]:
    """(catalog model, usage, batch cost) of each succeeded request of the results."""
    names = reverse_names(catalog, provider)
    out = []
    for raw in content.decode(errors="replace").splitlines():
        try:
            line = json.loads(raw)
        except ValueError:
            continue
        result = line.get("result") if isinstance(line, dict) else None
        if not isinstance(result, dict) or result.get("type") != "succeeded":
            continue
        message = result.get("message")
        if not isinstance(message, dict) or not isinstance(message.get("usage"), dict):
            continue
        model = catalog_name(names, message.get("model"))
        if model is None:
            continue
        usage = _usage_of(message["usage"])
        out.append((model, usage, batch_cost(catalog.get(model), usage)))
    return out


@router.get(_PATH, response_model=None, responses={**_JSON_200, **_ERRORS})
async def list_batches(
    request: Request,
    caller: CallerDep,
    before_id: Annotated[str | None, Query(max_length=200)] = None,
    after_id: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 20,
) -> Response:
    """The caller's tenant's batches among Anthropic's page: a page may hold fewer than
    ``limit``; ``has_more``, ``first_id`` and ``last_id`` are Anthropic's, to page on."""
    client = sdk_client(_provider(request))
    params: dict[str, Any] = {"limit": limit}
    if before_id:
        params["before_id"] = before_id
    if after_id:
        params["after_id"] = after_id
    page = _json(
        await _call(client.get(_PATH, cast_to=httpx2.Response, options={"params": params}))
    )
    data = [b for b in page.get("data") or [] if isinstance(b, dict)]
    mine = await owners(request).owned_ids(
        "message_batch", [str(b.get("id")) for b in data], caller.tenant
    )
    kept = [_results_url(request, b) for b in data if str(b.get("id")) in mine]
    return JSONResponse(
        {
            "data": kept,
            "has_more": bool(page.get("has_more")),
            "first_id": page.get("first_id"),
            "last_id": page.get("last_id"),
        }
    )

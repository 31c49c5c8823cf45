"""``/admin/v1/keys``: create (the key shown once), list, read, update, revoke, rotate.

Allowed models are resolved through the catalog when set (an alias is stored as the
model it names; an unknown name is 422 naming it). A change of a key's per-minute quota
reconfigures its budget (``key:<id>``) at once; other processes read the record again
within five seconds. Every change is in the audit log, with the key's id, never the key.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, status

from agentqueue.core.apikeys import ApiKeyRecord, ApiKeys, NotRotatable
from agentqueue.core.llm.catalog import Catalog, UnknownModel
from agentqueue.core.ratelimit.key_quotas import key_budget, key_limits
from agentqueue.gateway.api.admin.auth import AdminDep
from agentqueue.gateway.api.admin.common import admin_errors, audit, quotas
from agentqueue.gateway.api.admin.schemas import KeyCreate, KeyCreated, KeyList, KeyUpdate, KeyView
from agentqueue.gateway.api.errors import InvalidField

router = APIRouter(prefix="/keys", tags=["admin"])


def _keys(request: Request) -> ApiKeys:
    keys: ApiKeys = request.app.state.api_keys
    return keys


def _resolve_models(request: Request, names: list[str] | None) -> list[str] | None:
    """Catalog names for ``names`` (aliases resolved); 422 naming an unknown one."""
    if names is None:
        return None
    catalog: Catalog = request.app.state.chain.catalog
    out: list[str] = []
    for i, name in enumerate(names):
        try:
            model = catalog.get(name).model
        except UnknownModel:
            raise InvalidField(
                f"body.allowed_models.{i}", f"unknown model {name!r}", status=422
            ) from None
        if model not in out:
            out.append(model)
    return out


async def _configure_budget(request: Request, record: ApiKeyRecord) -> None:
    """Write the key's per-minute quota into its budget now (if it has one)."""
    quotas(request).keys.forget(record.key_id)
    limits = key_limits(record)
    gate = getattr(request.app.state.chain, "gate", None)
    if limits is not None and gate is not None:
        await gate.budgets.configure(key_budget(record.key_id), limits)


async def _get(request: Request, key_id: str) -> ApiKeyRecord:
    record = await _keys(request).get(key_id)
    if record is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no key {key_id!r}")
    return record


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=KeyCreated,
    responses=admin_errors(),
)
async def create_key(body: KeyCreate, request: Request, admin: AdminDep) -> KeyCreated:
    """A new key: the key itself is in this answer only (Redis keeps its hash)."""
    models = _resolve_models(request, body.allowed_models)
    key, record = await _keys(request).create(
        body.tenant,
        name=body.name,
        priorities=body.priorities,
        role=body.role,
        allowed_models=models,
        expires_at=body.expires_at,
        quotas=body.quotas,
        tags=body.tags,
    )
    await _configure_budget(request, record)
    await audit(request, admin, "key.create", record.key_id, tenant=record.tenant, role=record.role)
    return KeyCreated(key=key, record=KeyView.of(record))


@router.get("", response_model=KeyList, responses=admin_errors())
async def list_keys(
    request: Request,
    _admin: AdminDep,
    tenant: Annotated[str | None, Query(max_length=64)] = None,
    revoked: Annotated[bool, Query(description="Include revoked keys.")] = False,
) -> KeyList:
    """Every key (of one tenant), oldest first — ids and records, never keys."""
    records = await _keys(request).list(tenant)
    return KeyList(
        keys=[KeyView.of(r) for r in records if revoked or r.revoked_at is None],
    )


@router.get("/{key_id}", response_model=KeyView, responses=admin_errors(404))
async def get_key(key_id: str, request: Request, _admin: AdminDep) -> KeyView:
    return KeyView.of(await _get(request, key_id))


@router.patch("/{key_id}", response_model=KeyView, responses=admin_errors(404, 409))
async def update_key(key_id: str, body: KeyUpdate, request: Request, admin: AdminDep) -> KeyView:
    """Change a live key: only the fields the body sends."""
    changes: dict[str, Any] = {f: getattr(body, f) for f in body.model_fields_set}
    for required in ("name", "role", "priorities", "quotas", "tags"):
        if required in changes and changes[required] is None:
            raise InvalidField(f"body.{required}", "may not be null", status=422)
    if "allowed_models" in changes:
        changes["allowed_models"] = _resolve_models(request, changes["allowed_models"])
    if "quotas" in changes:
        changes["quotas"] = body.quotas.model_dump() if body.quotas else None
    current = await _get(request, key_id)
    if current.revoked_at is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"key {key_id!r} is revoked")
    updated = await _keys(request).update(key_id, changes)
    if updated is None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"key {key_id!r} is revoked")
    if "quotas" in changes:
        await _configure_budget(request, updated)
    quotas(request).keys.forget(key_id)
    await audit(request, admin, "key.update", key_id, fields=sorted(changes))
    return KeyView.of(updated)


@router.post("/{key_id}/revoke", response_model=KeyView, responses=admin_errors(404, 409))
async def revoke_key(key_id: str, request: Request, admin: AdminDep) -> KeyView:
    """Revoke a key: refused everywhere within the gateways' key cache time (5 s)."""
    await _get(request, key_id)
    if not await _keys(request).revoke(key_id):
        raise HTTPException(status.HTTP_409_CONFLICT, f"key {key_id!r} is already revoked")
    await audit(request, admin, "key.revoke", key_id)
    return KeyView.of(await _get(request, key_id))


@router.post(
    "/{key_id}/rotate",
    status_code=status.HTTP_201_CREATED,
    response_model=KeyCreated,
    responses=admin_errors(404, 409),
)
async def rotate_key(key_id: str, request: Request, admin: AdminDep) -> KeyCreated:
    """A new key with the same tenant, role, limits, expiry and tags; the old one
    revoked, in one transaction: a key is rotated once (409 to a concurrent second
    rotation). A revoked or expired key is not rotated (409 naming which). The new key
    is in this answer only."""
    await _get(request, key_id)
    try:
        rotated = await _keys(request).rotate(key_id)
    except NotRotatable as e:
        raise HTTPException(status.HTTP_409_CONFLICT, str(e)) from None
    if rotated is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no key {key_id!r}")
    key, record = rotated
    await _configure_budget(request, record)
    await audit(request, admin, "key.rotate", key_id, new_key_id=record.key_id)
    return KeyCreated(key=key, record=KeyView.of(record))

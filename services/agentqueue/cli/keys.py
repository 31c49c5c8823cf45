"""``agentqueue keys create|list|revoke|rotate``: manage tenants' API keys.

Local (the default) it talks to the same Redis as the gateway (``AGENTQUEUE_REDIS_URL``);
with ``--gateway URL`` it uses the gateway's admin API (``/admin/v1/keys``) with the admin
key in ``AGENTQUEUE_ADMIN_KEY`` — sent as a bearer header, never in a URL — so the
action is checked and audited like any admin's. A created (or rotated) key is printed
once and only its hash is kept. A revoked key stops working within the gateway's key
cache time (5 s).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import sys
import time
from decimal import Decimal
from typing import Any

import httpx
from rich.console import Console
from rich.table import Column, Table

from agentqueue.core.apikeys import (
    ApiKeyRecord,
    ApiKeys,
    KeyQuota,
    NotRotatable,
    Role,
    parse_tags,
)
from agentqueue.core.base.priority import Priority
from agentqueue.core.base.redisconn import async_redis
from agentqueue.core.settings import CoreSettings

#: Seconds a command retries an unreachable Redis before it says so.
CLI_RETRY_SECONDS = 2.0
ADMIN_KEY_ENV = "AGENTQUEUE_ADMIN_KEY"
_KEYS = "/admin/v1/keys"


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    keys = sub.add_parser("keys", help="create, list, revoke and rotate tenants' API keys")
    keys.add_argument(
        "--gateway",
        default=None,
        metavar="URL",
        help=f"use this gateway's admin API (admin key in ${ADMIN_KEY_ENV}) instead of Redis",
    )
    verbs = keys.add_subparsers(dest="verb", required=True)
    create = verbs.add_parser("create", help="create a key for a tenant (shown once)")
    create.add_argument("--tenant", required=True)
    create.add_argument("--name", default="", help="what the key is for")
    create.add_argument(
        "--priorities",
        default="",
        help="comma-separated priorities the key may use (default: all)",
    )
    create.add_argument("--role", choices=[r.value for r in Role], default=Role.TENANT.value)
    create.add_argument("--models", default=None, help="comma-separated models (default: all)")
    create.add_argument("--expires-in-days", type=float, default=None)
    create.add_argument("--rpm", type=int, default=None, help="the key's requests per minute")
    create.add_argument("--tpm", type=int, default=None, help="the key's tokens per minute")
    create.add_argument("--usd-per-day", type=Decimal, default=None)
    create.add_argument("--usd-per-month", type=Decimal, default=None)
    create.add_argument("--tags", default="", help="k=v,k2=v2 its usage is counted under")
    listing = verbs.add_parser("list", help="list keys (never the keys themselves)")
    listing.add_argument("--tenant", default=None)
    revoke = verbs.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("key_id")
    rotate = verbs.add_parser("rotate", help="a new key in place of this one (shown once)")
    rotate.add_argument("key_id")


def _priorities(text: str) -> list[Priority]:
    try:
        return [Priority(p.strip()) for p in text.split(",") if p.strip()]
    except ValueError:
        raise SystemExit(
            f"--priorities: expected some of {[p.value for p in Priority]}, got {text!r}"
        ) from None


def _create_body(args: argparse.Namespace) -> dict[str, Any]:
    try:
        tags = parse_tags(args.tags)
    except ValueError as exc:
        raise SystemExit(f"--tags: {exc}") from None
    quotas = KeyQuota(
        rpm=args.rpm, tpm=args.tpm, usd_per_day=args.usd_per_day, usd_per_month=args.usd_per_month
    )
    return {
        "tenant": args.tenant,
        "name": args.name,
        "role": args.role,
        "priorities": [p.value for p in _priorities(args.priorities)],
        "allowed_models": (
            [m.strip() for m in args.models.split(",") if m.strip()] if args.models else None
        ),
        "expires_at": (
            time.time() + args.expires_in_days * 86400 if args.expires_in_days else None
        ),
        "quotas": quotas.model_dump(mode="json", exclude_none=True),
        "tags": tags,
    }


def _table(records: list[ApiKeyRecord]) -> Table:
    # the key id is what every other command takes: never wrapped or cut, however narrow
    # the terminal (other columns wrap instead)
    key_id = Column("key id", no_wrap=True, min_width=max([12, *(len(r.key_id) for r in records)]))
    table = Table(key_id, "tenant", "name", "role", "priorities", "quotas", "created", "revoked")
    for r in records:
        q = r.quotas.model_dump(exclude_none=True)
        table.add_row(
            r.key_id,
            r.tenant,
            r.name,
            r.role.value,
            ",".join(p.value for p in r.priorities) or "all",
            " ".join(f"{k}={v}" for k, v in q.items()),
            _when(r.created_at),
            _when(r.revoked_at) if r.revoked_at else "",
        )
    return table


def _shown_once(console: Console, key: str, record: ApiKeyRecord) -> None:
    console.print(f"key id {record.key_id} for tenant {record.tenant!r}:")
    print(key)  # alone on its line, for scripts; shown this once


async def _run_local(args: argparse.Namespace, console: Console) -> int:
    redis = async_redis(CoreSettings(), max_connections=2, retry_seconds=CLI_RETRY_SECONDS)
    keys = ApiKeys(redis)
    try:
        if args.verb == "create":
            body = _create_body(args)
            try:
                key, record = await keys.create(
                    body["tenant"],
                    name=body["name"],
                    priorities=_priorities(args.priorities),
                    role=Role(body["role"]),
                    allowed_models=body["allowed_models"],
                    expires_at=body["expires_at"],
                    quotas=KeyQuota.model_validate(body["quotas"]),
                    tags=body["tags"],
                )
            except ValueError as exc:
                console.print(f"[red]{exc}[/red]")
                return 2
            _shown_once(console, key, record)
            return 0
        if args.verb == "list":
            console.print(_table(await keys.list(args.tenant)))
            return 0
        if args.verb == "rotate":
            try:
                rotated = await keys.rotate(args.key_id)
            except NotRotatable as exc:
                console.print(f"[red]{exc}[/red]")
                return 1
            if rotated is None:
                console.print(f"[red]no active key with id {args.key_id}[/red]")
                return 1
            _shown_once(console, *rotated)
            return 0
        if await keys.revoke(args.key_id):
            console.print(f"revoked {args.key_id}")
            return 0
        console.print(f"[red]no active key with id {args.key_id}[/red]")
        return 1
    finally:
        await redis.aclose()


async def _run_gateway(args: argparse.Namespace, console: Console) -> int:
    admin_key = os.environ.get(ADMIN_KEY_ENV, "")
    if not admin_key:
        console.print(f"[red]--gateway needs an admin key in ${ADMIN_KEY_ENV}[/red]")
        return 2
    async with httpx.AsyncClient(
        base_url=args.gateway.rstrip("/"),
        headers={"Authorization": f"Bearer {admin_key}"},
        timeout=30,
    ) as client:
        if args.verb == "create":
            r = await client.post(_KEYS, json=_create_body(args))
        elif args.verb == "list":
            r = await client.get(_KEYS, params={"tenant": args.tenant} if args.tenant else None)
        elif args.verb == "rotate":
            r = await client.post(f"{_KEYS}/{args.key_id}/rotate")
        else:
            r = await client.post(f"{_KEYS}/{args.key_id}/revoke")
    if r.status_code >= 400:
        try:
            message = r.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = r.text[:500]
        console.print(f"[red]{r.status_code}: {message}[/red]")
        return 1
    body = r.json()
    if args.verb in ("create", "rotate"):
        _shown_once(console, body["key"], _record(body["record"]))
    elif args.verb == "list":
        console.print(_table([_record(k) for k in body["keys"]]))
    else:
        console.print(f"revoked {args.key_id}")
    return 0


def _record(view: dict[str, Any]) -> ApiKeyRecord:
    fields = {k: v for k, v in view.items() if k in ApiKeyRecord.model_fields}
    return ApiKeyRecord.model_validate(fields)


def _when(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def run(args: argparse.Namespace) -> int:
    # piped (a script, a log): wide enough that a row is never wrapped mid-value
    console = Console(stderr=True, width=None if sys.stderr.isatty() else 200)
    if args.gateway:
        return asyncio.run(_run_gateway(args, console))
    return asyncio.run(_run_local(args, console))

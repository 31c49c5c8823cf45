"""``agentqueue keys create|list|revoke``: manage tenants' API keys in Redis.

Talks to the same Redis as the gateway (``AGENTQUEUE_REDIS_URL``); a created key is
printed once and only its hash is kept. A revoked key stops working within the gateway's
key cache time (5 s).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt

from rich.console import Console
from rich.table import Table

from agentqueue.core.apikeys import ApiKeys
from agentqueue.core.base.priority import Priority
from agentqueue.core.base.redisconn import async_redis
from agentqueue.core.settings import CoreSettings

#: Seconds a command retries an unreachable Redis before it says so.
CLI_RETRY_SECONDS = 2.0


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    keys = sub.add_parser("keys", help="create, list and revoke tenants' API keys")
    verbs = keys.add_subparsers(dest="verb", required=True)
    create = verbs.add_parser("create", help="create a key for a tenant (shown once)")
    create.add_argument("--tenant", required=True)
    create.add_argument("--name", default="", help="what the key is for")
    create.add_argument(
        "--priorities",
        default="",
        help="comma-separated priorities the key may use (default: all)",
    )
    listing = verbs.add_parser("list", help="list keys (never the keys themselves)")
    listing.add_argument("--tenant", default=None)
    revoke = verbs.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("key_id")


def _priorities(text: str) -> list[Priority]:
    try:
        return [Priority(p.strip()) for p in text.split(",") if p.strip()]
    except ValueError:
        raise SystemExit(
            f"--priorities: expected some of {[p.value for p in Priority]}, got {text!r}"
        ) from None


async def _run(args: argparse.Namespace, console: Console) -> int:
    redis = async_redis(CoreSettings(), max_connections=2, retry_seconds=CLI_RETRY_SECONDS)
    keys = ApiKeys(redis)
    try:
        if args.verb == "create":
            try:
                key, record = await keys.create(
                    args.tenant, name=args.name, priorities=_priorities(args.priorities)
                )
            except ValueError as exc:
                console.print(f"[red]{exc}[/red]")
                return 2
            console.print(f"key id {record.key_id} for tenant {record.tenant!r}:")
            print(key)  # alone on its line, for scripts; shown this once
            return 0
        if args.verb == "list":
            table = Table("key id", "tenant", "name", "priorities", "created", "revoked")
            for r in await keys.list(args.tenant):
                table.add_row(
                    r.key_id,
                    r.tenant,
                    r.name,
                    ",".join(p.value for p in r.priorities) or "all",
                    _when(r.created_at),
                    _when(r.revoked_at) if r.revoked_at else "",
                )
            console.print(table)
            return 0
        if await keys.revoke(args.key_id):
            console.print(f"revoked {args.key_id}")
            return 0
        console.print(f"[red]no active key with id {args.key_id}[/red]")
        return 1
    finally:
        await redis.aclose()


def _when(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_run(args, Console(stderr=True)))

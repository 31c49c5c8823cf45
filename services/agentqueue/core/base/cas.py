"""Compare-and-set of one JSON record in Redis: the one way records change.

Task records and session records are read, changed in Python and written back by many
processes at once (gateway, workers, retries, redeliveries). ``WATCH`` makes the write
fail if anyone wrote the key in between, and the change is then re-applied to the fresh
record — so no transition is lost and none applies twice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import redis.asyncio as aioredis
from pydantic import BaseModel
from redis.exceptions import WatchError

Record = TypeVar("Record", bound=BaseModel)
#: Extra writes to make in the same transaction, given the record as it will be written.
Then = Callable[["aioredis.client.Pipeline", Record], None]


async def update_record(
    redis: aioredis.Redis,
    key: str,
    model: type[Record],
    change: Callable[[Record], bool],
    *,
    ttl: int | None,
    missing: Callable[[], Exception],
    then: Then[Record] | None = None,
) -> Record | None:
    """Apply ``change`` to the record at ``key`` atomically; it returns False to leave the
    record as it is. Returns the record as written, or None when ``change`` declined.
    Raises ``missing()`` when there is no record. ``ttl`` None: the record never expires
    (API keys)."""
    async with redis.pipeline(transaction=True) as pipe:
        while True:
            try:
                await pipe.watch(key)
                raw = await pipe.get(key)
                if raw is None:
                    raise missing()
                record = model.model_validate_json(raw)
                if not change(record):
                    await pipe.unwatch()  # type: ignore[no-untyped-call]
                    return None
                pipe.multi()  # type: ignore[no-untyped-call]
                pipe.set(key, record.model_dump_json(exclude_none=True), ex=ttl)
                if then is not None:
                    then(pipe, record)
                await pipe.execute()
                return record
            except WatchError:
                continue

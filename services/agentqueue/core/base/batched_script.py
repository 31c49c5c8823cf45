"""A Lua script whose calls made in one turn of the event loop reach Redis together.

At 64 concurrent task submissions the gateway spent a fifth of its CPU in redis-py
around the one ``EVALSHA`` each submission makes, most of it not in the command: a
connection checked out of the blocking pool and back (an ``asyncio.Condition`` and a
timeout each way), the retry wrapper, a write and a read wake-up of its own
(``bench/gateway_submit.py``, py-spy). Calls that are ready in the same iteration of the
loop are independent of each other; sent as one pipeline they share one checkout, one
write and one read. This is ioredis's ``enableAutoPipelining``, and what multiplexing
clients (StackExchange.Redis, Lettuce) do by design; redis-py has no equivalent.

What each caller sees is what a call of its own would give it:

- **Atomic alone.** The pipeline is not a transaction: each script still runs alone
  in Redis, and one that fails (a Lua error, an out-of-memory refusal) fails for its
  own caller only, with the error redis-py would have raised.
- **Retried alike.** A connection error or a timeout retries the whole pipeline
  through the client's retry policy (``core/base/redisconn.py``), as it retries a
  single command; the scripts batched here must therefore be safe to run twice, as any
  script sent through that client already must. If the retries run out, every caller
  of the batch gets the error.
- **No added wait.** The batch is sent at the next iteration of the loop
  (``call_soon``), never on a timer: a caller alone is sent at once, as a plain
  ``EVALSHA``, without a pipeline.
- **Not lost to a cancelled caller.** A caller cancelled while waiting leaves its
  script in the batch, as a cancelled single call would have left it on the wire.

A script Redis does not know (a restart, ``SCRIPT FLUSH``) is loaded and the refused
calls sent again, as ``register_script`` does.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import NoScriptError

#: Calls sent in one pipeline at most; the rest of a larger turn goes in the next.
MAX_BATCH = 256

_Call = tuple[Sequence[Any], Sequence[Any], "asyncio.Future[Any]"]


class BatchedScript:
    """``await script(keys, args)``: the script's reply, or the error Redis gave it."""

    def __init__(self, redis: aioredis.Redis, source: str, max_batch: int = MAX_BATCH) -> None:
        self.redis = redis
        self.source = source
        self.sha = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()
        self.max_batch = max_batch
        self._pending: list[_Call] = []
        self._sending: set[asyncio.Task[None]] = set()  # held: the loop keeps weak refs

    async def __call__(self, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        loop = asyncio.get_running_loop()
        reply: asyncio.Future[Any] = loop.create_future()
        self._pending.append((keys, args, reply))
        if len(self._pending) == 1:  # the batch is nobody's: it runs in a context of its own
            loop.call_soon(self._flush, context=contextvars.Context())
        return await reply

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        for start in range(0, len(pending), self.max_batch):
            task = asyncio.ensure_future(self._send(pending[start : start + self.max_batch]))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    async def _send(self, batch: list[_Call]) -> None:
        try:
            replies = await self._replies(batch)
        except asyncio.CancelledError:
            for *_, reply in batch:
                reply.cancel()
            raise
        except Exception as exc:  # the batch never got its replies: each caller's error
            replies = [exc] * len(batch)
        for (*_, reply), outcome in zip(batch, replies, strict=True):
            if reply.done():  # its caller was cancelled
                continue
            if isinstance(outcome, Exception):
                reply.set_exception(outcome)
            else:
                reply.set_result(outcome)

    async def _replies(self, batch: list[_Call]) -> list[Any]:
        if len(batch) == 1:
            keys, args, _ = batch[0]
            try:
                return [await self._evalsha(self.redis, keys, args)]
            except NoScriptError:
                return [await self.redis.eval(self.source, len(keys), *keys, *args)]  # type: ignore[no-untyped-call]
        replies = await self._pipelined(batch)
        refused = [i for i, reply in enumerate(replies) if isinstance(reply, NoScriptError)]
        if refused:
            await self.redis.script_load(self.source)  # type: ignore[no-untyped-call]
            again = await self._pipelined([batch[i] for i in refused])
            for i, reply in zip(refused, again, strict=True):
                replies[i] = reply
        return replies

    async def _pipelined(self, batch: list[_Call]) -> list[Any]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for keys, args, _ in batch:
                self._evalsha(pipe, keys, args)
            return list(await pipe.execute(raise_on_error=False))

    def _evalsha(self, client: aioredis.Redis, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        return client.evalsha(self.sha, len(keys), *keys, *args)  # type: ignore[no-untyped-call]


__all__ = ["MAX_BATCH", "BatchedScript"]

"""A TCP proxy in front of Redis that can be cut and restored: an outage, then recovery.

Cut, it drops every connection and refuses new ones (nothing listens on its port), as a
Redis that died does; restored, it listens on the same port again, so the operator's
client, which only knows that address, reconnects as it would to a restarted Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

from agentqueue.core.base.ports import free_port


class CuttableProxy:
    def __init__(self, redis_host: str, redis_port: int) -> None:
        self.redis_host = redis_host
        self.redis_port = redis_port
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(self.redis_host, self.redis_port)
        except OSError:
            writer.close()
            return
        for pipe in (self._pipe(reader, up_writer), self._pipe(up_reader, writer)):
            task = asyncio.create_task(pipe)
            self._pipes.add(task)
            task.add_done_callback(self._pipes.discard)

    async def restore(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        pipes = list(self._pipes)
        for task in pipes:
            task.cancel()
        await asyncio.gather(*pipes, return_exceptions=True)


@contextlib.asynccontextmanager
async def cuttable_proxy(redis_url: str) -> AsyncIterator[CuttableProxy]:
    """A restored (working) proxy to ``redis_url``; cut on the way out."""
    parsed = urlsplit(redis_url)
    assert parsed.hostname and parsed.port, redis_url
    proxy = CuttableProxy(parsed.hostname, parsed.port)
    await proxy.restore()
    try:
        yield proxy
    finally:
        await proxy.cut()

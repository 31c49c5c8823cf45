"""A TCP proxy in front of Redis that loses one reply: the command goes through and runs,
then the connection drops before its answer reaches the client — what a Redis that dies
(or a network that breaks) right after a write looks like to the client."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from agentqueue.core.base.ports import free_port


class LossyProxy:
    def __init__(self, redis_port: int) -> None:
        self.redis_port = redis_port
        self.port = free_port()
        self.trigger: bytes | None = None
        self.fired = 0
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def lose_reply_to(self, trigger: bytes) -> None:
        """The next command whose bytes contain ``trigger`` runs; its reply is lost."""
        self.trigger = trigger

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.redis_port)
        blackhole = asyncio.Event()

        async def down() -> None:
            while data := await up_reader.read(65536):
                if blackhole.is_set():
                    return
                writer.write(data)
                await writer.drain()

        async def up() -> None:
            while data := await reader.read(65536):
                if self.trigger is not None and self.trigger in data:
                    self.trigger = None
                    self.fired += 1
                    blackhole.set()
                    up_writer.write(data)
                    await up_writer.drain()
                    await asyncio.sleep(0.2)  # the server runs it; the answer goes nowhere
                    return
                up_writer.write(data)
                await up_writer.drain()

        tasks = [asyncio.create_task(down()), asyncio.create_task(up())]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            task.cancel()
        for w in (writer, up_writer):
            w.close()
            with contextlib.suppress(Exception):
                await w.wait_closed()

    async def __aenter__(self) -> LossyProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()


@contextlib.asynccontextmanager
async def lossy_proxy(redis_url: str) -> AsyncIterator[LossyProxy]:
    port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
    async with LossyProxy(port) as proxy:
        yield proxy

"""How ``python -m agentqueue.gateway`` serves the app: the garbage collector is tuned once
the app's start-up has completed, and requests pass through untouched."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import httpx
import pytest
from starlette.types import Message, Receive, Scope, Send

from agentqueue.gateway.__main__ import GC_GEN0_THRESHOLD, TuneGcAfterStartup


@pytest.fixture
def restored_gc() -> Iterator[None]:
    threshold = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


async def _app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                assert gc.get_freeze_count() == 0  # not before the app has started
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    await send({"type": "http.response.start", "status": 202, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


async def test_the_collector_is_tuned_after_startup_and_requests_pass(restored_gc) -> None:
    gc.unfreeze()
    served = TuneGcAfterStartup(_app)
    inbox = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[Message] = []

    async def receive() -> Message:
        return inbox.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    await served({"type": "lifespan"}, receive, send)
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert gc.get_freeze_count() > 0 and gc.get_threshold()[0] == GC_GEN0_THRESHOLD
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=served)) as client:
        answer = await client.get("http://gateway/anything")
    assert answer.status_code == 202 and answer.text == "ok"

"""The call pipeline is closed inside Dramatiq's event loop while that loop still runs."""

from __future__ import annotations

import asyncio
import logging

import dramatiq
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import AsyncIO

from agentqueue.worker.shutdown import CloseInLoop


def _worker_with(close_added_after_asyncio: bool) -> tuple[dramatiq.Worker, list[str]]:
    broker = StubBroker(middleware=[])
    seen: list[str] = []

    async def close() -> None:
        listener = asyncio.get_running_loop().create_task(asyncio.sleep(3600))
        listener.cancel()  # what the exchange's aclose does to its listener
        try:
            await listener
        except asyncio.CancelledError:
            seen.append("closed in the running loop")

    if close_added_after_asyncio:
        broker.add_middleware(AsyncIO())
        broker.add_middleware(CloseInLoop(close))
    else:  # the wrong order: the loop is stopped before the close is asked for
        broker.add_middleware(CloseInLoop(close))
        broker.add_middleware(AsyncIO())
    return dramatiq.Worker(broker, worker_threads=1, worker_timeout=100), seen


def test_the_pipeline_is_closed_before_the_loop_stops() -> None:
    worker, seen = _worker_with(close_added_after_asyncio=True)
    worker.start()
    worker.stop(timeout=5000)
    assert seen == ["closed in the running loop"]


def test_added_before_asyncio_it_finds_the_loop_stopped_and_does_nothing(caplog) -> None:
    worker, seen = _worker_with(close_added_after_asyncio=False)
    worker.start()
    worker.stop(timeout=5000)
    assert seen == []
    # it saw the loop stopped and did not try: no failed close to report
    assert "did not close cleanly" not in caplog.text


def test_a_failing_close_does_not_stop_the_shutdown(caplog) -> None:
    broker = StubBroker(middleware=[])

    async def close() -> None:
        raise ConnectionError("redis went away")

    broker.add_middleware(AsyncIO())
    broker.add_middleware(CloseInLoop(close))
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=100)
    worker.start()
    worker.stop(timeout=5000)
    assert "did not close cleanly: redis went away" in caplog.text


def test_a_loop_thread_already_stopped_is_left_alone(caplog) -> None:
    """The loop thread still registered but stopped (another middleware stopped it first):
    nothing is run in it, and nothing is reported as failed."""
    from dramatiq.asyncio import EventLoopThread, set_event_loop_thread

    ran: list[str] = []

    async def close() -> None:
        ran.append("closed")

    thread = EventLoopThread(logging.getLogger("test"))
    thread.start(timeout=1.0)
    thread.stop()
    thread.join()
    set_event_loop_thread(thread)
    try:
        CloseInLoop(close).after_worker_shutdown(None, None)
    finally:
        set_event_loop_thread(None)
    assert ran == []
    assert "did not close cleanly" not in caplog.text

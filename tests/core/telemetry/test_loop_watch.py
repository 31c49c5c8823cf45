"""The event loop's lag and stall watchdog (``core/telemetry/loop_watch.py``)."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from prometheus_client import REGISTRY

from agentqueue.core.telemetry.loop_watch import LoopWatch


def _lag_count(service: str) -> float:
    value = REGISTRY.get_sample_value(
        "agentqueue_event_loop_lag_seconds_count", {"service": service}
    )
    return value or 0.0


def hold_the_loop_for(seconds: float) -> None:
    time.sleep(seconds)  # what a synchronous call in a coroutine does to every request


async def test_a_stall_is_logged_once_with_the_code_that_held_the_loop(
    caplog: pytest.LogCaptureFixture,
) -> None:
    watch = LoopWatch("test-stall", interval=0.02, stall=0.2)
    running = asyncio.create_task(watch.run())
    await asyncio.sleep(0.1)
    with caplog.at_level(logging.WARNING, logger="agentqueue.loop"):
        hold_the_loop_for(0.8)
        await asyncio.sleep(0.1)
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
    assert watch.stalls == 1  # one stall, however long: one line
    [line] = [r.getMessage() for r in caplog.records if r.name == "agentqueue.loop"]
    assert "test-stall event loop blocked" in line and "hold_the_loop_for" in line
    assert _lag_count("test-stall") > 0


async def test_a_loop_that_keeps_ticking_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    watch = LoopWatch("test-calm", interval=0.02, stall=0.5)
    running = asyncio.create_task(watch.run())
    with caplog.at_level(logging.WARNING, logger="agentqueue.loop"):
        for _ in range(10):
            hold_the_loop_for(0.01)
            await asyncio.sleep(0.02)
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
    assert watch.stalls == 0 and not [r for r in caplog.records if r.name == "agentqueue.loop"]
    assert _lag_count("test-calm") >= 5


async def test_a_stall_in_a_garbage_collection_says_so(caplog: pytest.LogCaptureFixture) -> None:
    watch = LoopWatch("test-gc", interval=0.02, stall=0.2)
    running = asyncio.create_task(watch.run())
    await asyncio.sleep(0.1)
    with caplog.at_level(logging.WARNING, logger="agentqueue.loop"):
        watch._on_gc("start", {"generation": 2})  # as gc calls it when a collection starts
        hold_the_loop_for(0.5)
        watch._on_gc("stop", {"generation": 2})
        await asyncio.sleep(0.1)
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
    [line] = [r.getMessage() for r in caplog.records if r.name == "agentqueue.loop"]
    assert "generation-2 garbage collection" in line

"""The chats run in a process of their own — the people at their screens.

Their time to first token is measured where a person would see it, by an event loop that
does nothing else: the process driving the background sessions (hundreds of HTTP calls
and webhooks a second) would otherwise add its own lag to every figure. The same process
measures the idle system first, so idle and loaded figures come from the same place.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections.abc import Callable
from multiprocessing.queues import Queue
from typing import Any

from bench.scenario.driver import Driver, run_sessions
from bench.scenario.outcome import SessionOutcome
from bench.scenario.workload import Session

#: Builds the chat driver inside the child process from picklable arguments.
DriverFactory = Callable[..., Driver]


class LoopLag:
    """How late this event loop wakes up (a 50 ms sleep's overshoot), sampled all run."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self.stopped = False

    async def run(self) -> None:
        while not self.stopped:
            before = time.perf_counter()
            await asyncio.sleep(0.05)
            self.lags.append(time.perf_counter() - before - 0.05)

    def p99(self) -> float:
        ordered = sorted(self.lags)
        return ordered[int(0.99 * (len(ordered) - 1))] if ordered else 0.0


async def _main(
    factory: DriverFactory,
    args: dict[str, Any],
    sessions: list[Session],
    idle_samples: int,
    deadline: float,
    inbox: Queue,  # type: ignore[type-arg]
    outbox: Queue,  # type: ignore[type-arg]
) -> None:
    driver = factory(**args)
    outbox.put(("idle", await driver.idle_ttft(idle_samples)))
    t0 = await asyncio.to_thread(inbox.get)
    lag = LoopLag()
    watching = asyncio.create_task(lag.run())
    outcomes = await run_sessions(driver, sessions, t0, deadline)
    lag.stopped = True
    await watching
    await driver.aclose()
    outbox.put(("done", outcomes, lag.p99()))


def _child(*args: Any) -> None:
    asyncio.run(_main(*args))


class ChatProcess:
    """Start it, wait for its idle figures, give it the start time, collect the chats."""

    def __init__(
        self,
        factory: DriverFactory,
        args: dict[str, Any],
        sessions: list[Session],
        idle_samples: int,
        deadline: float,
    ) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.inbox: Queue = ctx.Queue()  # type: ignore[type-arg]
        self.outbox: Queue = ctx.Queue()  # type: ignore[type-arg]
        self.process = ctx.Process(
            target=_child,
            args=(factory, args, sessions, idle_samples, deadline, self.inbox, self.outbox),
            name="chats",
        )
        self.process.start()

    async def idle(self) -> list[float]:
        kind, ttft = await asyncio.to_thread(self.outbox.get)
        assert kind == "idle"
        return list(ttft)

    def go(self, t0: float) -> None:
        self.inbox.put(t0)

    async def outcomes(self) -> tuple[list[SessionOutcome], float]:
        kind, outcomes, lag = await asyncio.to_thread(self.outbox.get)
        assert kind == "done"
        self.process.join(30)
        return list(outcomes), float(lag)

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()

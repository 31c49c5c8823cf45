"""Sessions run in processes of their own: the chats (people at their screens) in one,
the background sessions in another.

The chats' time to first token is measured where a person would see it, by an event
loop that does nothing else, at normal priority. The background driver (hundreds of HTTP
calls and webhooks a second) stands for other machines — the users' and their
services' — so it runs at the workers' lower priority: on one shared machine it would
otherwise take the CPU the system under test needs and measure itself. The chat process
measures the idle system first, so idle and loaded figures come from the same place.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import time
from collections.abc import Callable
from multiprocessing.queues import Queue
from multiprocessing.sharedctypes import Synchronized
from typing import Any

from bench.scenario.driver import Driver, run_sessions
from bench.scenario.outcome import SessionOutcome
from bench.scenario.workload import Session

#: Builds the driver inside the child process from picklable arguments.
DriverFactory = Callable[..., Driver]


class LoopLag:
    """How late this event loop wakes up (a 50 ms sleep's overshoot), sampled all run."""

    def __init__(self) -> None:
        #: (when it woke, how late), epoch seconds and seconds.
        self.lags: list[tuple[float, float]] = []
        self.stopped = False

    async def run(self) -> None:
        while not self.stopped:
            before = time.perf_counter()
            await asyncio.sleep(0.05)
            self.lags.append((time.time(), time.perf_counter() - before - 0.05))

    def summary(self) -> tuple[float, float, float]:
        """(p99 lag, the worst lag, when the worst woke)."""
        if not self.lags:
            return 0.0, 0.0, 0.0
        ordered = sorted(lag for _, lag in self.lags)
        worst_at, worst = max(self.lags, key=lambda pair: pair[1])
        return ordered[int(0.99 * (len(ordered) - 1))], worst, worst_at


async def _main(
    factory: DriverFactory,
    args: dict[str, Any],
    sessions: list[Session],
    idle_samples: int,
    deadline: float,
    concurrency: int,
    waiting: Synchronized,  # type: ignore[type-arg]
    inbox: Queue,  # type: ignore[type-arg]
    outbox: Queue,  # type: ignore[type-arg]
) -> None:
    driver = factory(**args)
    await driver.start()
    outbox.put(("idle", await driver.idle_ttft(idle_samples) if idle_samples else []))
    t0 = await asyncio.to_thread(inbox.get)
    cpu_at_start = time.process_time()
    lag = LoopLag()
    watching = asyncio.create_task(lag.run())

    async def report_waiting() -> None:
        while True:
            waiting.value = await driver.waiting(concurrency)
            await asyncio.sleep(0.25)

    reporting = asyncio.create_task(report_waiting())
    outcomes = await run_sessions(driver, sessions, t0, deadline)
    lag.stopped = True
    reporting.cancel()
    await watching
    await driver.aclose()
    outbox.put(("done", outcomes, lag.summary(), time.process_time() - cpu_at_start))


def _child(nice: int, *args: Any) -> None:
    if nice:
        os.nice(nice)
    asyncio.run(_main(*args))


class SessionsProcess:
    """Start it, wait for its idle figures, give it the start time, collect the sessions."""

    def __init__(
        self,
        factory: DriverFactory,
        args: dict[str, Any],
        sessions: list[Session],
        *,
        idle_samples: int = 0,
        deadline: float,
        concurrency: int = 0,
        nice: int = 0,
    ) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.inbox: Queue = ctx.Queue()  # type: ignore[type-arg]
        self.outbox: Queue = ctx.Queue()  # type: ignore[type-arg]
        #: Tasks waiting for a worker right now (the background process's count).
        self.waiting: Synchronized = ctx.Value("i", 0)  # type: ignore[type-arg]
        self.process = ctx.Process(
            target=_child,
            args=(nice, factory, args, sessions, idle_samples, deadline, concurrency,
                  self.waiting, self.inbox, self.outbox),
            name=f"sessions-{factory.__name__}",
        )  # fmt: skip
        self.process.start()

    @property
    def pid(self) -> int:
        assert self.process.pid is not None
        return self.process.pid

    async def idle(self) -> list[float]:
        kind, ttft = await asyncio.to_thread(self.outbox.get)
        assert kind == "idle"
        return list(ttft)

    def go(self, t0: float) -> None:
        self.inbox.put(t0)

    async def outcomes(
        self,
    ) -> tuple[list[SessionOutcome], tuple[float, float, float], float]:
        """Every session's outcome, the driver's loop lag (p99, worst, when) and the CPU
        seconds it spent from the start (its own count: it has ended by now)."""
        kind, outcomes, lag, cpu_seconds = await asyncio.to_thread(self.outbox.get)
        assert kind == "done"
        self.process.join(30)
        return list(outcomes), lag, cpu_seconds

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()

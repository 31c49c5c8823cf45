"""One architecture's run, the same steps for both: the chats' idle probe, then every
session at once with the primary's outage on schedule, sampled all along."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from bench.scenario.chat_process import ChatProcess, LoopLag
from bench.scenario.driver import Driver, run_sessions
from bench.scenario.limits import PRIMARY
from bench.scenario.outage import outage
from bench.scenario.outcome import RunResult, Sampler, simulator_errors
from bench.scenario.workload import Session


async def run_scenario(
    name: str,
    driver: Driver,
    chats: ChatProcess,
    depth: Callable[[], Awaitable[int]],
    simulator_url: str,
    workload: list[Session],
    *,
    outage_window: tuple[float, float],
    reset_simulator: Callable[[], Awaitable[None]],
    deadline_seconds: float,
) -> RunResult:
    """``driver`` runs the background sessions, ``chats`` (already started on the chat
    sessions) the chats; ``depth()`` counts the work waiting in the queues."""
    idle = await chats.idle()
    await reset_simulator()  # the probe's calls: not the run's
    sampler = Sampler(simulator_url, depth)
    lag = LoopLag()
    watching = [asyncio.create_task(sampler.run()), asyncio.create_task(lag.run())]
    t0 = time.time() + 1.0
    chats.go(t0)
    down = asyncio.create_task(outage(simulator_url, PRIMARY, *outage_window, t0))
    background = [s for s in workload if s.kind != "chat"]
    sessions, (chat_sessions, chat_lag) = await asyncio.gather(
        run_sessions(driver, background, t0, deadline_seconds), chats.outcomes()
    )
    ended = time.time()
    sampler.stopped = lag.stopped = True
    await asyncio.gather(*watching)
    down.cancel()  # a run shorter than the outage's end: the next reset ends it
    limited, errors = await simulator_errors(simulator_url)
    notes = [
        f"event-loop lag p99 (how late the measuring loop woke): background driver "
        f"{lag.p99() * 1000:.0f} ms, chats {chat_lag * 1000:.0f} ms"
    ]
    return RunResult(
        name, t0, ended, sessions + chat_sessions, sampler.samples, limited, errors, idle, notes
    )

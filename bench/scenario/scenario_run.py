"""One architecture's run, the same steps for both: the chats' idle probe, then every
session at once with the primary's outage on schedule, sampled all along."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from bench.scenario import cpu
from bench.scenario.limits import PRIMARY
from bench.scenario.outage import outage
from bench.scenario.outcome import RunResult, Sampler, SessionOutcome, simulator_errors
from bench.scenario.redis_probe import RedisProbe
from bench.scenario.sessions_process import SessionsProcess


async def run_scenario(
    name: str,
    chats: SessionsProcess,
    background: SessionsProcess,
    simulator_url: str,
    *,
    outage_window: tuple[float, float],
    reset_simulator: Callable[[], Awaitable[None]],
    processes: dict[str, int] | None = None,
    redis_url: str | None = None,
) -> RunResult:
    """``chats`` and ``background``: the two halves of the workload, already started;
    ``processes``: the architecture's own (name: pid), whose CPU the notes give;
    ``redis_url``: the Redis it uses, whose PING time is sampled all run."""
    idle = await chats.idle()
    await background.idle()  # ready (it probes nothing)
    await reset_simulator()  # the probe's calls: not the run's

    async def depth() -> int:
        return int(background.waiting.value)

    sampler = Sampler(simulator_url, depth)
    sampling = asyncio.create_task(sampler.run())
    probe = RedisProbe(redis_url) if redis_url else None
    probing = asyncio.create_task(probe.run()) if probe else None
    t0 = time.time() + 1.0
    watched = processes or {}
    cpu_before = cpu.snapshot(watched)
    timeline = cpu.Timeline(watched)
    timing_cpu = asyncio.create_task(timeline.run())
    chats.go(t0)
    background.go(t0)
    down = asyncio.create_task(outage(simulator_url, PRIMARY, *outage_window, t0))
    cpu_after: dict[str, float] = {}

    async def finished(
        driver: SessionsProcess, name: str
    ) -> tuple[list[SessionOutcome], tuple[float, float, float]]:
        outcomes, lag, cpu_seconds = await driver.outcomes()
        cpu_after.update(cpu.snapshot(watched))  # the system's, as each driver ends
        cpu_before[name], cpu_after[name] = 0.0, cpu_seconds
        return outcomes, lag

    (sessions, background_lag), (chat_sessions, chat_lag) = await asyncio.gather(
        finished(background, "background driver"), finished(chats, "chats driver")
    )
    ended = time.time()
    cpu_line = cpu.spent(cpu_before, cpu_after, ended - t0)
    sampler.stopped = True
    await sampling
    timeline.stopped = True
    await timing_cpu
    if probe is not None and probing is not None:
        probe.stopped = True
        await probing
    down.cancel()  # a run shorter than the outage's end: the next reset ends it
    limited, errors = await simulator_errors(simulator_url)
    notes = [
        f"event-loop lag (how late the measuring loop woke) p99 / worst (when): {who} "
        f"{lag[0] * 1000:.0f} / {lag[1] * 1000:.0f} ms ({lag[2] - t0:.1f} s)"
        for who, lag in (("background driver", background_lag), ("chats", chat_lag))
    ]
    notes.append(cpu_line)
    down_at = t0 + outage_window[0]
    notes.append(
        f"CPU in the outage's first 2 s: {timeline.between(down_at - 0.25, down_at + 2.25)}"
    )
    if probe is not None:
        notes.append(probe.summary(t0))
    return RunResult(
        name, t0, ended, sessions + chat_sessions, sampler.samples, limited, errors, idle, notes
    )

"""What both architectures' drivers share: sessions started on schedule, chats read and
answered with think time, the idle probe. Each architecture says how one chat turn, one
agent session and one research session are sent (:meth:`Driver.chat_turn`, …)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bench.scenario.outcome import SessionOutcome
from bench.scenario.workload import Session


class Driver:
    def __init__(self) -> None:
        #: Tasks submitted and not yet finished, per queue (chats are not queued).
        self.outstanding: Counter[str] = Counter()

    @asynccontextmanager
    async def queued(self, queue: str) -> AsyncIterator[None]:
        """Count a task as outstanding on ``queue`` from its submission to its end."""
        self.outstanding[queue] += 1
        try:
            yield
        finally:
            self.outstanding[queue] -= 1

    async def waiting(self, concurrency: int) -> int:
        """Tasks waiting for a worker: those beyond what the queues' workers run at once."""
        return sum(max(0, n - concurrency) for n in self.outstanding.values())

    async def chat_turn(self, history: list[dict[str, str]], out: SessionOutcome) -> str | None:
        """Send one turn, streamed; the answer's text, or None (``out`` says why)."""
        raise NotImplementedError

    async def agent(self, s: Session, out: SessionOutcome) -> None:
        raise NotImplementedError

    async def research(self, s: Session, out: SessionOutcome) -> None:
        raise NotImplementedError

    async def start(self) -> None:
        """Start what the driver needs running (a webhook receiver, a result reader)."""

    async def aclose(self) -> None:
        """Release what the driver holds (connections)."""

    async def chat(self, s: Session, out: SessionOutcome) -> None:
        history: list[dict[str, str]] = []
        for turn, think in zip(s.turns, s.think, strict=True):
            history.append({"role": "user", "content": turn})
            answer = await self.chat_turn(history, out)
            if answer is None:
                out.error = out.error or out.tasks[-1].error
                return
            history.append({"role": "assistant", "content": answer})
            await asyncio.sleep(think)
        out.ok = True

    async def session(self, s: Session, t0: float) -> SessionOutcome:
        """Run ``s`` from its start time (seconds after ``t0``) to its end."""
        await asyncio.sleep(max(0.0, t0 + s.start_at - time.time()))
        out = SessionOutcome(s.index, s.kind, s.priority.value, time.time())
        run = {"chat": self.chat, "agent": self.agent, "research": self.research}[s.kind]
        try:
            await run(s, out)
        except Exception as exc:
            out.ok, out.error = False, f"{type(exc).__name__}: {exc}"[:300]
        out.finished = time.time()
        return out

    async def idle_ttft(self, samples: int, concurrency: int = 4, warm_up: int = 8) -> list[float]:
        """Time to first token of fresh chat turns with nothing else running (after
        ``warm_up`` turns not measured: connections, tokenizers, first imports)."""
        out = SessionOutcome(-1, "chat", "high", time.time())
        counter = iter(range(warm_up + samples))

        async def probe() -> None:
            for i in counter:
                await self.chat_turn(
                    [{"role": "user", "content": f"Idle probe {i}: my order is late."}], out
                )

        await asyncio.gather(*(probe() for _ in range(concurrency)))
        measured = sorted(out.tasks, key=lambda t: t.submitted)[warm_up:]
        return [t.ttft for t in measured if t.ok and t.ttft is not None]


async def run_sessions(
    driver: Driver, workload: list[Session], t0: float, deadline_seconds: float
) -> list[SessionOutcome]:
    """Every session of ``workload``; one still running at the deadline is failed."""
    started = {asyncio.create_task(driver.session(s, t0)): s for s in workload}
    done, late = await asyncio.wait(started, timeout=deadline_seconds)
    outcomes = [t.result() for t in done]
    for task in late:
        task.cancel()
        s = started[task]
        outcomes.append(
            SessionOutcome(s.index, s.kind, s.priority.value, t0 + s.start_at, time.time(),
                           error="unfinished at the deadline")
        )  # fmt: skip
    return outcomes

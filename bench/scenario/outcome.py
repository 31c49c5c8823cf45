"""What one run of the scenario produced, the same shape for both architectures."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class Call:
    """One LLM call as the caller saw it."""

    provider: str
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    cached: bool = False
    saved_usd: float = 0.0
    #: Answered by another provider than its tier's first (the primary was out, or full).
    fell_back: bool = False


@dataclass
class Task:
    """One unit queued to a worker (an agent step, a research task) or one chat turn."""

    priority: str
    submitted: float
    finished: float = 0.0
    ok: bool = False
    error: str = ""
    #: Chat turns: seconds from sending to the first token, and whether a cache answered.
    ttft: float | None = None
    cached: bool = False
    #: The gateway's ``Server-Timing`` for a chat turn (where its first token's time went).
    timing: str = ""
    #: Chat turns: seconds from sending to the response's headers.
    headers_s: float | None = None


@dataclass
class SessionOutcome:
    index: int
    kind: str
    priority: str
    started: float
    finished: float = 0.0
    ok: bool = False
    error: str = ""
    tasks: list[Task] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)

    @property
    def cost_usd(self) -> float:
        return sum(c.cost_usd for c in self.calls)


@dataclass
class Sample:
    """The system every half second: work waiting, and what each budget has served."""

    at: float
    waiting: int
    #: ``provider:model`` -> (requests answered, input + output tokens served).
    served: dict[str, tuple[int, int]]


@dataclass
class RunResult:
    name: str
    started: float
    ended: float
    sessions: list[SessionOutcome]
    samples: list[Sample]
    #: Provider 429s, by provider (the simulator's count).
    rate_limited: dict[str, int]
    #: Other provider errors (5xx, the outage's 529/503), by provider.
    provider_errors: dict[str, int]
    idle_ttft: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class Sampler:
    """Samples waiting work (``depth()``) and the simulator's per-model counters."""

    def __init__(self, simulator_url: str, depth: Any, every: float = 0.5) -> None:
        self.simulator_url, self.depth, self.every = simulator_url, depth, every
        self.samples: list[Sample] = []
        self.stopped = False

    async def run(self) -> None:
        async with httpx.AsyncClient(base_url=self.simulator_url, timeout=10) as sim:
            while not self.stopped:
                waiting = await self.depth()
                stats = (await sim.get("/_sim/stats", params={"calls": "false"})).json()
                served = {
                    name: (c["ok"], c["input_tokens"] + c["output_tokens"])
                    for name, c in stats.get("models", {}).items()
                }
                self.samples.append(Sample(time.time(), waiting, served))
                await asyncio.sleep(self.every)


async def simulator_errors(simulator_url: str) -> tuple[dict[str, int], dict[str, int]]:
    async with httpx.AsyncClient(base_url=simulator_url, timeout=10) as sim:
        stats = (await sim.get("/_sim/stats", params={"calls": "false"})).json()
    limited = {p: c["rate_limited"] for p, c in stats["providers"].items()}
    errors = {p: sum(c["errors"].values()) for p, c in stats["providers"].items()}
    return limited, errors

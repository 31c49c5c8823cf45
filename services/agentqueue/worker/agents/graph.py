"""An agent as a graph of steps: whatever has its inputs runs, concurrently, bounded.

Agent work is mostly LLM calls that wait on the network; calls that do not depend on
each other (the sub-questions of a research task) need not wait for each other either.
A :class:`Graph` runs every step whose dependencies have finished, at most
``max_parallel`` at once, each step receiving its dependencies' results by name. LLM
steps call :meth:`AgentContext.complete`, so each one is still recorded, costed,
budget-checked and admitted by the shared rate limiter on its own.

The first step to fail stops the graph and its error is raised (a cancelled task, an
exhausted budget, a provider outage), but only once the steps already running have
finished: an LLM call in flight is being paid for, so it is let finish and is recorded
with its usage and cost like any other. No step starts after the failure (steps waiting
for a slot never run), the running steps' results are dropped, and an error one of them
raises meanwhile is dropped too — the first error is the one raised. A step that makes
no LLM call and may take long (a tool waiting on a slow service) can be added with
``interruptible=True``: it is cancelled at the first failure instead of awaited.
Cancelling :meth:`Graph.run` itself (the worker shutting down) cancels every step.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from agentqueue.core.llm.messages import Completion, CompletionRequest
from agentqueue.core.llm.routing import TierChoice
from agentqueue.worker.agents.base import AgentContext

#: A step's work: its dependencies' results by step name in, its own result out.
StepFn = Callable[[Mapping[str, Any]], Awaitable[Any]]


@dataclass(frozen=True)
class Step:
    name: str
    run: StepFn
    deps: tuple[str, ...] = ()
    #: Cancelled, not awaited, when another step fails (only for steps making no LLM call).
    interruptible: bool = False


@dataclass
class StepTiming:
    """When a step started and finished (epoch seconds), for benchmarks and tests."""

    started: float
    finished: float = 0.0


class GraphError(ValueError):
    """The graph is malformed: a duplicate step, an unknown dependency, a cycle."""


@dataclass
class Graph:
    steps: list[Step] = field(default_factory=list)
    max_parallel: int = 8
    timings: dict[str, StepTiming] = field(default_factory=dict)

    def add(
        self, name: str, run: StepFn, deps: Iterable[str] = (), *, interruptible: bool = False
    ) -> Step:
        step = Step(name, run, tuple(deps), interruptible)
        self.steps.append(step)
        return step

    def _check(self) -> None:
        names = [s.name for s in self.steps]
        if len(set(names)) != len(names):
            raise GraphError(f"duplicate step names in {names}")
        known = set(names)
        for s in self.steps:
            missing = set(s.deps) - known
            if missing:
                raise GraphError(f"step {s.name!r} depends on unknown {sorted(missing)}")
        done: set[str] = set()
        pending = list(self.steps)
        while pending:
            ready = [s for s in pending if set(s.deps) <= done]
            if not ready:
                raise GraphError(f"cycle among {[s.name for s in pending]}")
            done.update(s.name for s in ready)
            pending = [s for s in pending if s.name not in done]

    async def run(self) -> dict[str, Any]:
        """Run every step; their results by name, or the first step's error."""
        self._check()
        results: dict[str, Any] = {}
        limit = asyncio.Semaphore(max(1, self.max_parallel))
        failed: list[BaseException] = []  # the first step's error; nothing starts after it
        started: set[str] = set()  # steps that got a slot and began running

        async def one(step: Step) -> Any:
            async with limit:
                if failed:
                    return None  # got its slot after a failure: never runs
                started.add(step.name)
                timing = self.timings[step.name] = StepTiming(time.time())
                try:
                    return await step.run({d: results[d] for d in step.deps})
                except Exception as exc:
                    if not failed:  # before the slot is freed: no waiting step may start
                        failed.append(exc)
                    raise
                finally:
                    timing.finished = time.time()

        pending = {s.name: s for s in self.steps}
        running: dict[asyncio.Task[Any], Step] = {}
        try:
            while running or (pending and not failed):
                if not failed:
                    for name, step in list(pending.items()):
                        if all(d in results for d in step.deps):
                            running[asyncio.create_task(one(step), name=name)] = step
                            del pending[name]
                done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    step = running.pop(task)
                    if task.cancelled() or task.exception() is not None:
                        if not failed:  # a step that cancelled itself
                            failed.append(asyncio.CancelledError(f"step {step.name} cancelled"))
                        # Stop what is not yet paid for: steps still waiting for a slot
                        # and interruptible ones; the others run to their end.
                        for other, other_step in running.items():
                            if other_step.interruptible or other_step.name not in started:
                                other.cancel()
                    elif not failed:
                        results[step.name] = task.result()
        finally:
            # Only when run() itself is cancelled (or fails) are steps left running here.
            for task in running:
                task.cancel()
            if running:
                await asyncio.gather(*running, return_exceptions=True)
        if failed:
            raise failed[0]
        return results


def llm_step(
    ctx: AgentContext,
    build: Callable[[Mapping[str, Any]], CompletionRequest],
    *,
    step: str,
    tier: TierChoice | None = None,
    schema: bool = False,
) -> StepFn:
    """A step that makes one LLM call with the request ``build`` makes from its inputs."""

    async def run(inputs: Mapping[str, Any]) -> Completion:
        return await ctx.complete(build(inputs), step=step, tier=tier, schema=schema)

    return run

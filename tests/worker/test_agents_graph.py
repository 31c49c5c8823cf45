"""The step graph: dependencies respected, concurrency bounded, the first error wins once
the steps already running have finished."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest

from agentqueue.worker.agents.graph import Graph, GraphError


def sleeper(log: list[str], name: str, seconds: float, result: Any = None):  # type: ignore[no-untyped-def]
    async def run(inputs: Mapping[str, Any]) -> Any:
        log.append(f"start {name}")
        await asyncio.sleep(seconds)
        log.append(f"end {name}")
        return result if result is not None else {"name": name, "inputs": dict(inputs)}

    return run


async def test_ready_steps_run_together_and_dependents_get_their_inputs() -> None:
    log: list[str] = []
    g = Graph(max_parallel=8)
    for name in ("a", "b", "c"):
        g.add(name, sleeper(log, name, 0.2, result=name.upper()))
    g.add("join", sleeper(log, "join", 0.01), deps=["a", "b", "c"])
    loop = asyncio.get_running_loop()
    began = loop.time()
    results = await g.run()
    took = loop.time() - began
    assert results["join"]["inputs"] == {"a": "A", "b": "B", "c": "C"}
    assert log[:3] == ["start a", "start b", "start c"]  # all three before any ends
    assert log.index("start join") > max(log.index(f"end {n}") for n in "abc")
    assert took < 0.4  # about the longest (0.2), not the sum (0.6)
    spans = g.timings
    assert max(spans[n].started for n in "abc") < min(spans[n].finished for n in "abc")


async def test_max_parallel_bounds_the_steps_in_flight() -> None:
    in_flight = peak = 0

    async def step(_: Mapping[str, Any]) -> None:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.02)
        in_flight -= 1

    g = Graph(max_parallel=3)
    for i in range(10):
        g.add(f"s{i}", step)
    await g.run()
    assert peak == 3


async def test_the_first_failure_cancels_interruptible_steps_and_is_raised() -> None:
    log: list[str] = []

    async def boom(_: Mapping[str, Any]) -> None:
        await asyncio.sleep(0.01)
        raise RuntimeError("step failed")

    g = Graph()
    g.add("slow", sleeper(log, "slow", 5), interruptible=True)
    g.add("boom", boom)
    g.add("after", sleeper(log, "after", 0), deps=["boom"])
    with pytest.raises(RuntimeError, match="step failed"):
        await asyncio.wait_for(g.run(), 30)
    assert "end slow" not in log and "start after" not in log


async def test_a_step_running_when_another_fails_finishes_before_the_error_is_raised() -> None:
    """An LLM call in flight is being paid for: its step runs to its end (and the call
    is recorded) before the first error is raised; nothing else starts."""
    log: list[str] = []
    in_call, in_tool = asyncio.Event(), asyncio.Event()
    release, interrupted = asyncio.Event(), asyncio.Event()

    async def call(_: Mapping[str, Any]) -> str:
        log.append("start call")
        in_call.set()
        await release.wait()  # the provider answers only when the test says so
        log.append("end call")
        return "paid for"

    async def boom(_: Mapping[str, Any]) -> None:
        await in_call.wait()
        await in_tool.wait()
        raise RuntimeError("step failed")

    async def tool(_: Mapping[str, Any]) -> None:
        in_tool.set()
        try:
            await asyncio.Event().wait()  # forever, unless cancelled
        except asyncio.CancelledError:
            interrupted.set()
            raise

    g = Graph(max_parallel=3)
    g.add("call", call)
    g.add("boom", boom)
    g.add("tool", tool, interruptible=True)
    g.add("queued", sleeper(log, "queued", 0))  # waits for a slot: never gets one
    g.add("after", sleeper(log, "after", 0), deps=["call"])
    run = asyncio.create_task(g.run())
    await asyncio.wait_for(interrupted.wait(), 30)  # the failure has been seen
    assert not run.done() and "end call" not in log
    release.set()
    with pytest.raises(RuntimeError, match="step failed"):
        await asyncio.wait_for(run, 30)
    assert log == ["start call", "end call"]  # the call finished; nothing else started
    assert g.timings["call"].finished >= g.timings["call"].started > 0


async def test_the_first_error_wins_over_one_raised_while_finishing() -> None:
    in_call = asyncio.Event()

    async def call(_: Mapping[str, Any]) -> None:
        in_call.set()
        await asyncio.sleep(0)
        raise ValueError("second")

    async def boom(_: Mapping[str, Any]) -> None:
        await in_call.wait()
        raise RuntimeError("first")

    g = Graph()
    g.add("boom", boom)
    g.add("call", call)
    with pytest.raises(RuntimeError, match="first"):
        await asyncio.wait_for(g.run(), 30)


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([("a", ()), ("a", ())], "duplicate"),
        ([("a", ("zz",))], "unknown"),
        ([("a", ("b",)), ("b", ("a",))], "cycle"),
    ],
)
async def test_malformed_graphs_are_refused_before_anything_runs(
    steps: list[tuple[str, tuple[str, ...]]], message: str
) -> None:
    log: list[str] = []
    g = Graph()
    for name, deps in steps:
        g.add(name, sleeper(log, name, 0), deps=deps)
    with pytest.raises(GraphError, match=message):
        await g.run()
    assert log == []

"""Chaos scenarios: a real local stack, ≥ 300 tasks, one failure each, nothing lost.

Each scenario starts its own stack (``tests/chaos/stack.py``): redis-server with AOF
(``appendfsync everysec``) in its own directory, or a primary + replica + three
Sentinels; the simulator (~0.5 s per call); the gateway; one worker per queue; the
limiter where the scenario needs it. 64 asyncio clients submit 300 tasks, each request
retried with its Idempotency-Key until a 2xx, while the scenario breaks something. Then
``workload.audit`` checks the contract on every acknowledged task — terminal
(``succeeded`` or ``failed``) within the stated bound, exactly one terminal event, its
calls in the tenant's usage ledger — and prints the counts. ``-s`` shows them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chaos.stack import ChaosStack
from tests.chaos.workload import Progress, audit, check, submit_all

pytestmark = pytest.mark.slow

TASKS = 300
CLIENTS = 64
#: Seconds after the last acknowledgement within which every task must have finished:
#: redelivery after a worker's heartbeat timeout (5 s here), a reconciler pass (~5 s),
#: retries with backoff, and 300 tasks of ~0.5 s on 24 worker threads.
BOUND_S = 45.0


@pytest.fixture
def make_stack(tmp_path: Path) -> Iterator[list[ChaosStack]]:
    stacks: list[ChaosStack] = []
    yield stacks
    for stack in stacks:
        stack.stop()
    for stack in stacks:
        print(stack.tail_logs())  # shown only when the test fails


def _start(stacks: list[ChaosStack], stack: ChaosStack) -> ChaosStack:
    stacks.append(stack)
    stack.start()
    return stack


async def _when(progress: Progress, count: int) -> None:
    await progress.event(count).wait()


def test_gateway_sigkilled_twice_while_clients_submit(make_stack, tmp_path: Path) -> None:
    stack = _start(make_stack, ChaosStack(tmp_path))

    async def chaos(progress: Progress) -> None:
        for at in (80, 180):
            await _when(progress, at)
            stack.kill_gateway()
            print(f"[chaos:gateway-kill] killed at {len(progress.acknowledged)} acknowledged")
            await asyncio.sleep(0.5)
            await asyncio.to_thread(stack.start_gateway)

    progress = asyncio.run(submit_all(stack, tasks=TASKS, clients=CLIENTS, chaos=chaos))
    result = audit("gateway-kill", stack, progress, tasks=TASKS, bound_s=BOUND_S)
    check(result, min_acknowledged=TASKS)


def test_redis_sigkilled_and_restarted_mid_workload(make_stack, tmp_path: Path) -> None:
    stack = _start(make_stack, ChaosStack(tmp_path))

    async def chaos(progress: Progress) -> None:
        await _when(progress, 120)
        stack.kill_redis()
        print(f"[chaos:redis-kill] killed at {len(progress.acknowledged)} acknowledged")
        await asyncio.sleep(3.0)
        await asyncio.to_thread(stack.restart_redis)
        print(f"[chaos:redis-kill] restarted at {len(progress.acknowledged)} acknowledged")

    progress = asyncio.run(submit_all(stack, tasks=TASKS, clients=CLIENTS, chaos=chaos))
    result = audit("redis-kill", stack, progress, tasks=TASKS, bound_s=BOUND_S)
    check(result, min_acknowledged=TASKS)


def test_redis_sentinel_failover_mid_workload(make_stack, tmp_path: Path) -> None:
    stack = _start(make_stack, ChaosStack(tmp_path, sentinel=True))
    assert stack.sentinels is not None
    sentinels = stack.sentinels

    async def chaos(progress: Progress) -> None:
        await _when(progress, 120)
        old = sentinels.primary.port
        sentinels.primary.kill()
        print(f"[chaos:sentinel] primary killed at {len(progress.acknowledged)} acknowledged")
        new = await asyncio.to_thread(sentinels.wait_failover, old)
        print(f"[chaos:sentinel] failover {old} -> {new}")

    progress = asyncio.run(submit_all(stack, tasks=TASKS, clients=CLIENTS, chaos=chaos))
    result = audit("sentinel-failover", stack, progress, tasks=TASKS, bound_s=BOUND_S)
    check(result, min_acknowledged=TASKS)


def test_worker_sigkilled_mid_task_and_restarted(make_stack, tmp_path: Path) -> None:
    stack = _start(make_stack, ChaosStack(tmp_path))

    async def chaos(progress: Progress) -> None:
        await _when(progress, 120)
        await asyncio.to_thread(_wait_running, stack, "standard")
        stack.kill_worker("standard")
        print(f"[chaos:worker-kill] killed at {len(progress.acknowledged)} acknowledged")
        await asyncio.sleep(1.0)
        stack.start_worker("standard")

    progress = asyncio.run(submit_all(stack, tasks=TASKS, clients=CLIENTS, chaos=chaos))
    result = audit(
        "worker-kill",
        stack,
        progress,
        tasks=TASKS,
        bound_s=BOUND_S,
    )
    check(result, min_acknowledged=TASKS)
    # The kill landed mid-task: the task it interrupted ran again.
    assert result.redelivered >= 1, result.line()


def _wait_running(stack: ChaosStack, priority: str, timeout: float = 20.0) -> None:
    """Until a task of ``priority`` is running (so the kill lands mid-task)."""
    import json
    import time

    client = stack.redis_client()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            for key in client.scan_iter("aq:task:*", count=1000):
                if key.count(":") != 2:
                    continue
                raw = client.get(key)
                if raw:
                    record = json.loads(raw)
                    if record["state"] == "running" and record["spec"]["priority"] == priority:
                        return
            time.sleep(0.05)
    finally:
        client.close()
    raise AssertionError(f"no {priority} task running within {timeout}s")


def test_provider_failing_30_percent_of_calls(make_stack, tmp_path: Path) -> None:
    stack = _start(
        make_stack, ChaosStack(tmp_path, simulator_env={"AGENTQUEUE_SIM_ERROR_RATE": "0.3"})
    )
    progress = asyncio.run(submit_all(stack, tasks=TASKS, clients=CLIENTS))
    result = audit("provider-30pct", stack, progress, tasks=TASKS, bound_s=BOUND_S)
    check(result, min_acknowledged=TASKS)
    assert result.succeeded > 0, result.line()


def test_limiter_down_loses_nothing(make_stack, tmp_path: Path) -> None:
    # Every service is pointed at a limiter URL where nothing listens: tasks may fail
    # visibly (after their retries) or wait, but every acknowledged one ends.
    stack = _start(
        make_stack,
        ChaosStack(
            tmp_path,
            limiter="down",
            env={"AGENTQUEUE_MAX_RETRIES": "2", "AGENTQUEUE_LIMITER_MAX_WAIT": "2"},
        ),
    )
    progress = asyncio.run(submit_all(stack, tasks=TASKS, clients=CLIENTS))
    result = audit("limiter-down", stack, progress, tasks=TASKS, bound_s=BOUND_S)
    check(result, min_acknowledged=TASKS)

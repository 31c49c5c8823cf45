"""Single-flight: identical requests in flight make one provider call, across processes;
a failed leader hands over; a stuck one is waited for no longer than the timeout."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from agentqueue.core.cache.exact import ExactCache
from agentqueue.core.cache.singleflight import Role, SingleFlight
from agentqueue.core.calls.pipeline import CallPipeline
from agentqueue.core.llm.messages import ChatMessage, CompletionRequest

REQUEST = CompletionRequest(
    messages=[ChatMessage(role="user", content="Summarise the single-flight pattern.")],
    max_tokens=64,
    temperature=0,
)


#: Seconds a test waits for what it waits on (a process to start, a flight to land): far
#: more than it takes, even on a loaded machine; what is tested is that it happens.
WAIT = 120


def provider_calls(simulator) -> int:
    return sum(p["requests"] for p in simulator.stats()["providers"].values())


async def test_concurrent_identical_requests_make_one_call(chain, aredis, simulator) -> None:
    simulator.configure({"all": {"speed": 0.5}})  # each call takes a few hundred ms
    pipeline = CallPipeline(chain, exact=ExactCache(aredis), flights=SingleFlight(aredis, WAIT))
    results = await asyncio.gather(*(pipeline.complete(REQUEST) for _ in range(20)))
    assert provider_calls(simulator) == 1
    assert len({r.completion.text for r in results}) == 1
    assert sorted(r.cached or "provider" for r in results) == ["exact"] * 19 + ["provider"]
    assert [k async for k in aredis.scan_iter("aq:cache:f:*:lock")] == []  # released


@pytest.mark.slow
async def test_twenty_requests_from_four_processes_make_one_call(
    redis_url, simulator, tmp_path: Path
) -> None:
    """Four processes, each with five identical requests, released together once every
    process has imported and connected (a barrier, not a start time that a loaded
    machine may miss)."""
    simulator.configure({"all": {"speed": 0.5}})
    procs = []
    for i in range(4):
        with (tmp_path / f"client{i}.err").open("wb") as err:  # the child keeps its own fd
            procs.append(
                await asyncio.create_subprocess_exec(
                    *[sys.executable, "-m", "tests.core.cache.flight_client"],
                    *[redis_url, simulator.url, "5"],
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=err,
                )
            )

    def errors() -> str:
        return "\n".join(p.read_text()[-2000:] for p in sorted(tmp_path.glob("*.err")))

    try:
        for proc in procs:
            assert proc.stdout is not None
            ready = await asyncio.wait_for(proc.stdout.readline(), WAIT)
            assert ready.strip() == b"ready", errors()
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write(b"go\n")
            await proc.stdin.drain()
        answers = []
        for proc in procs:
            assert proc.stdout is not None
            out = await asyncio.wait_for(proc.stdout.read(), WAIT)
            assert await asyncio.wait_for(proc.wait(), WAIT) == 0, errors()
            answers += json.loads(out.decode().strip().splitlines()[-1])
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    assert len(answers) == 20
    assert provider_calls(simulator) == 1
    assert len({a["text"] for a in answers}) == 1
    assert sum(a["cached"] is None for a in answers) == 1


async def test_a_failed_leader_hands_over_to_one_follower(aredis: aioredis.Redis) -> None:
    flights = SingleFlight(aredis, WAIT, poll=0.2)
    calls: list[str] = []
    store: dict[str, str] = {}
    leading = asyncio.Event()

    def call(name: str, fail: bool = False):
        async def run() -> str:
            calls.append(name)
            leading.set()
            await asyncio.sleep(0.2)  # the followers queue meanwhile (or come after: same)
            if fail:
                raise RuntimeError("provider down")
            store["answer"] = name
            return name

        return run

    async def check() -> str | None:
        return store.get("answer")

    leader = asyncio.create_task(flights.run("k", call("leader", fail=True), check))
    await asyncio.wait_for(leading.wait(), WAIT)  # it holds the lock
    followers = [asyncio.create_task(flights.run("k", call(f"f{i}"), check)) for i in range(5)]
    with pytest.raises(RuntimeError):
        await leader
    results = await asyncio.gather(*followers)
    assert len(calls) == 2  # the failed leader, then one follower for everyone
    winner = calls[1]
    assert sorted(role for _, role in results) == [Role.JOINED] * 4 + [Role.LEADER]
    assert {answer for answer, _ in results} == {winner}


async def test_a_stuck_leader_is_waited_for_at_most_the_timeout(aredis: aioredis.Redis) -> None:
    await aredis.set("k:lock", "a-leader-that-died", px=60_000)
    flights = SingleFlight(aredis, 0.6, poll=0.2)

    async def call() -> str:
        return "called myself"

    async def check() -> str | None:
        return None

    started = time.monotonic()
    result, role = await flights.run("k", call, check)
    waited = time.monotonic() - started
    assert (result, role) == ("called myself", Role.ALONE)
    assert 0.55 < waited < 30  # the timeout (0.6 s), far from the dead lock's 60 s


async def test_the_lock_expires_if_its_leader_dies(aredis: aioredis.Redis) -> None:
    flights = SingleFlight(aredis, 0.5)
    leading = asyncio.Event()

    async def hang() -> str:
        leading.set()
        await asyncio.sleep(10)
        return "never"

    async def check() -> str | None:
        return None

    task = asyncio.create_task(flights.run("k", hang, check))
    await asyncio.wait_for(leading.wait(), WAIT)  # it holds the lock
    task.cancel()  # the leader's process is gone; its lock has a TTL
    ttl = await aredis.pttl("k:lock")
    assert ttl == -2 or 0 < ttl <= 500  # released on cancel, or expiring within the timeout

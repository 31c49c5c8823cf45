"""Single-flight: identical requests in flight make one provider call, across processes;
a failed leader hands over; a stuck one is waited for no longer than the timeout."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time

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


def provider_calls(simulator) -> int:
    return sum(p["requests"] for p in simulator.stats()["providers"].values())


async def test_concurrent_identical_requests_make_one_call(chain, aredis, simulator) -> None:
    simulator.configure({"all": {"speed": 0.5}})  # each call takes a few hundred ms
    pipeline = CallPipeline(chain, exact=ExactCache(aredis), flights=SingleFlight(aredis, 10))
    results = await asyncio.gather(*(pipeline.complete(REQUEST) for _ in range(20)))
    assert provider_calls(simulator) == 1
    assert len({r.completion.text for r in results}) == 1
    assert sorted(r.cached or "provider" for r in results) == ["exact"] * 19 + ["provider"]
    assert [k async for k in aredis.scan_iter("aq:cache:f:*:lock")] == []  # released


@pytest.mark.slow
def test_twenty_requests_from_four_processes_make_one_call(redis_url, simulator) -> None:
    simulator.configure({"all": {"speed": 0.5}})
    start_at = time.time() + 4  # after every process has imported and connected
    client = [sys.executable, "-m", "tests.core.cache.flight_client"]
    procs = [
        subprocess.Popen(
            [*client, redis_url, simulator.url, str(start_at), "5"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(4)
    ]
    answers = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err.decode()[-2000:]
        answers += json.loads(out.decode().strip().splitlines()[-1])
    assert len(answers) == 20
    assert provider_calls(simulator) == 1
    assert len({a["text"] for a in answers}) == 1
    assert sum(a["cached"] is None for a in answers) == 1


async def test_a_failed_leader_hands_over_to_one_follower(aredis: aioredis.Redis) -> None:
    flights = SingleFlight(aredis, 5, poll=0.2)
    calls: list[str] = []
    store: dict[str, str] = {}

    def call(name: str, fail: bool = False):
        async def run() -> str:
            calls.append(name)
            await asyncio.sleep(0.2)
            if fail:
                raise RuntimeError("provider down")
            store["answer"] = name
            return name

        return run

    async def check() -> str | None:
        return store.get("answer")

    leader = asyncio.create_task(flights.run("k", call("leader", fail=True), check))
    await asyncio.sleep(0.05)
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
    assert 0.55 < waited < 1.5


async def test_the_lock_expires_if_its_leader_dies(aredis: aioredis.Redis) -> None:
    flights = SingleFlight(aredis, 0.5)

    async def hang() -> str:
        await asyncio.sleep(10)
        return "never"

    async def check() -> str | None:
        return None

    task = asyncio.create_task(flights.run("k", hang, check))
    await asyncio.sleep(0.1)
    task.cancel()  # the leader's process is gone; its lock has a TTL
    ttl = await aredis.pttl("k:lock")
    assert ttl == -2 or 0 < ttl <= 500  # released on cancel, or expiring within the timeout

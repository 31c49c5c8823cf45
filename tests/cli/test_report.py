"""``agentqueue report``: percentiles of cost and calls per session by agent kind, and the
projection for N sessions a day, from task and session records in a real Redis."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import pytest
import redis.asyncio as aioredis

from agentqueue.cli.__main__ import main
from agentqueue.cli.report import load, observe, percentile, report
from agentqueue.core.llm.messages import ChatMessage, CompletionRequest, Usage
from agentqueue.core.sessions import SessionRecord, SessionStore
from agentqueue.core.tasks.model import CallRecord, TaskRecord, TaskSpec, TaskState
from agentqueue.core.tasks.store import TaskStore


def _task(
    kind: str, costs: list[str], *, model: str = "claude-sonnet-4-6", state=TaskState.SUCCEEDED
) -> TaskRecord:  # type: ignore[no-untyped-def]
    calls = [
        CallRecord(
            provider="anthropic",
            model=model,
            usage=Usage(input_tokens=900, output_tokens=100),
            cost_usd=Decimal(c),
            latency_s=0.1,
            attempts=[],
            prices_as_of="2025-06-01",
        )
        for c in costs
    ]
    spec = TaskSpec(
        kind=kind,
        input=CompletionRequest(messages=[ChatMessage(role="user", content="x")]),
    )
    return TaskRecord(tenant="t", spec=spec, state=state, calls=calls)


async def _seed(aredis: aioredis.Redis) -> None:
    tasks = TaskStore(aredis, ttl=600)
    for i in range(1, 11):  # completion: 1 call costing 0.001 .. 0.010
        await tasks.create(_task("completion", [f"0.00{i}" if i < 10 else "0.010"]))
    for _ in range(4):  # map_reduce: 5 calls of 0.002 on the efficient model
        await tasks.create(_task("map_reduce", ["0.002"] * 5, model="claude-haiku-4-5"))
    await tasks.create(_task("map_reduce", ["0.5"], state=TaskState.RUNNING))  # not finished
    await tasks.create(_task("session_step", ["0.004", "0.004"]))  # counted in its session
    await SessionStore(aredis).create(
        SessionRecord(
            tenant="t",
            calls=12,
            cost_usd=Decimal("0.05"),
            usage=Usage(input_tokens=20_000, output_tokens=4_000),
        )
    )


def test_nearest_rank_percentiles() -> None:
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 90), percentile(values, 99)) == (50, 90, 99)
    assert percentile([3.0], 99) == 3.0 and percentile([], 50) == 0.0


async def test_distribution_by_kind_and_projection(aredis: aioredis.Redis) -> None:
    await _seed(aredis)
    data = report(observe(*await load(aredis)), sessions_per_day=1_000, peak_factor=3.0)
    kinds = {k["kind"]: k for k in data["by_kind"]}
    assert set(kinds) == {"completion", "map_reduce", "session", "(all)"}
    completion = kinds["completion"]
    assert completion["sessions"] == 10
    assert (completion["cost_p50"], completion["cost_p90"], completion["cost_p99"]) == (
        0.005,
        0.009,
        0.010,
    )
    assert kinds["map_reduce"]["sessions"] == 4 and kinds["map_reduce"]["calls_p50"] == 5
    assert kinds["map_reduce"]["cost_mean"] == pytest.approx(0.010)
    assert kinds["session"]["calls_p99"] == 12 and kinds["session"]["cost_p50"] == 0.05
    assert kinds["(all)"]["sessions"] == 15

    p = data["projection"]
    mean = (0.055 + 4 * 0.010 + 0.05) / 15
    assert p["daily_cost_usd"] == pytest.approx(mean * 1_000, abs=1e-4)
    mean_tokens = (10 * 1000 + 4 * 5000 + 24_000) / 15
    assert p["tokens_per_day"] == round(mean_tokens * 1_000)
    assert p["average_tpm"] == pytest.approx(mean_tokens * 1_000 / 1440, abs=0.1)
    peak = p["peak_tpm_by_model"]
    assert set(peak) == {"claude-sonnet-4-6", "claude-haiku-4-5"}
    assert sum(peak.values()) == pytest.approx(3 * mean_tokens * 1_000 / 1440, rel=0.01)
    assert data["prices_as_of"] == ["2025-06-01"]


def _seed_sync(redis_url: str) -> None:
    async def seed() -> None:
        client = aioredis.Redis.from_url(redis_url)
        try:
            await _seed(client)
        finally:
            await client.aclose()

    asyncio.run(seed())


def test_the_command_prints_json(
    redis_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _seed_sync(redis_url)
    monkeypatch.setenv("AGENTQUEUE_REDIS_URL", redis_url)
    assert main(["report", "--sessions-per-day", "500", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["sessions_observed"] == 15 and data["projection"]["sessions_per_day"] == 500


def test_the_command_prints_tables(
    redis_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _seed_sync(redis_url)
    monkeypatch.setenv("AGENTQUEUE_REDIS_URL", redis_url)
    monkeypatch.setenv("COLUMNS", "140")
    assert main(["report"]) == 0
    out = capsys.readouterr().out
    assert "map_reduce" in out and "Provider TPM needed at peak" in out and "a day" in out


async def test_a_redis_that_ran_tasks_is_read_without_wrongtype(aredis: aioredis.Redis) -> None:
    """Each task leaves an event stream (``aq:task:<id>:events``) and a cancelled one a
    flag (``aq:task:<id>:cancelled``) next to its record: only records are read."""
    from agentqueue.core.tasks.events import EventType, TaskEvents

    await _seed(aredis)
    store = TaskStore(aredis, ttl=600)
    record, _ = await store.create(_task("completion", [], state=TaskState.QUEUED))
    await TaskEvents(aredis, ttl=600).publish(record.id, EventType.QUEUED, {})
    await store.cancel(record.id)
    await aredis.set(f"aq:task:{record.id}:cancelled", "1")
    tasks, sessions = await load(aredis)
    assert len(tasks) == 17 and len(sessions) == 1
    data = report(observe(tasks, sessions), sessions_per_day=1_000, peak_factor=3.0)
    assert data["sessions_observed"] == 15

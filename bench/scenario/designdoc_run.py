"""The scenario through the design document's architecture.

Its task queue is Celery on Redis with one queue per priority; here each queue is a Redis
list and one worker process per queue takes jobs from it, ``concurrency`` at a time (the
same number of tasks at once as an agentqueue worker's threads), and answers on a result
list. A job that raises is failed, as the document's ``run_research_agent`` does with
``store_error`` (its ``except RateLimitError`` retry never fires: the fallback loop turns
every provider error into ``Exception("All providers failed")``). Chats are streamed by the
driver process itself — the document's web process — through its own limiter, cache and
fallback loop, as a FastAPI endpoint would.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

import redis.asyncio as aioredis

from agentqueue.core.llm.catalog import load_catalog
from agentqueue.core.llm.messages import ChatMessage, CompletionRequest
from agentqueue.core.llm.providers.base import ProviderConfig
from agentqueue.worker.agents.map_reduce import MAP_SYSTEM, REDUCE_SYSTEM
from bench.scenario.designdoc import AllProvidersFailed, DesignDocCalls
from bench.scenario.driver import Driver
from bench.scenario.outcome import Call, RunResult, SessionOutcome, Task
from bench.scenario.scenario_run import run_scenario
from bench.scenario.sessions_process import SessionsProcess
from bench.scenario.workload import (
    AGENT_MAX_TOKENS,
    AGENT_SYSTEM,
    CHAT_MAX_TOKENS,
    CHAT_SYSTEM,
    MAP_MAX_TOKENS,
    REDUCE_MAX_TOKENS,
    Session,
)

QUEUES = ("high", "standard", "batch")
DONE = "dd:done"
STOP = "dd:stop"

#: The design document's clients open as many connections as they need (redis-py's pool
#: before 8.0, which now stops at 100 by default and raises past it).
UNBOUNDED = 1_000_000


def _request(
    system: str | None, messages: list[dict[str, str]], max_tokens: int
) -> CompletionRequest:
    return CompletionRequest(
        system=system,
        messages=[ChatMessage(role=m["role"], content=m["content"]) for m in messages],
        max_tokens=max_tokens,
        temperature=0,
    )


async def _research(job: dict[str, Any], calls: DesignDocCalls) -> tuple[list[Call], str]:
    """The research agent: the sub-questions in parallel, then the synthesis."""
    question, subs = job["question"], job["sub_questions"]
    asks = [
        f"Overall question:\n{question}\n\nSub-question {i + 1}: {sub}"
        for i, sub in enumerate(subs)
    ]
    maps = [_request(MAP_SYSTEM, [{"role": "user", "content": a}], MAP_MAX_TOKENS) for a in asks]
    found = await asyncio.gather(*(calls.complete(r, "efficient") for r in maps))
    parts = [f"### Sub-question {i + 1}: {sub}\n{found[i][1]}" for i, sub in enumerate(subs)]
    content = f"Overall question:\n{question}\n\nFindings:\n\n" + "\n\n".join(parts)
    reduce = _request(REDUCE_SYSTEM, [{"role": "user", "content": content}], REDUCE_MAX_TOKENS)
    call, text = await calls.complete(reduce, "frontier")
    return [c for c, _ in found] + [call], text


async def _job(job: dict[str, Any], calls: DesignDocCalls) -> dict[str, Any]:
    started = time.time()
    try:
        if job["kind"] == "research":
            made, text = await _research(job, calls)
        else:
            request = _request(AGENT_SYSTEM, job["messages"], AGENT_MAX_TOKENS)
            call, text = await calls.complete(request, "frontier")
            made = [call]
        ok, error = True, ""
    except AllProvidersFailed as exc:
        made, text, ok, error = [], "", False, f"AllProvidersFailed: {exc}"[:300]
    return {
        "id": job["id"],
        "ok": ok,
        "error": error,
        "text": text,
        "calls": [asdict(c) for c in made],
        "submitted": job["submitted"],
        "started": started,
        "finished": time.time(),
    }


async def _worker(
    queue: str, concurrency: int, redis_url: str, configs: list[ProviderConfig], minute: float
) -> None:
    redis = aioredis.Redis.from_url(redis_url, max_connections=UNBOUNDED)
    calls = DesignDocCalls(configs, load_catalog(), redis, minute)

    async def consume() -> None:
        while True:
            item = await redis.blpop([f"dd:q:{queue}"], timeout=1)
            if item is None:
                if await redis.exists(STOP):
                    return
                continue
            result = await _job(json.loads(item[1]), calls)
            await redis.rpush(DONE, json.dumps(result))

    await asyncio.gather(*(consume() for _ in range(concurrency)))
    await calls.aclose()
    await redis.aclose()


def worker_process(
    queue: str,
    concurrency: int,
    redis_url: str,
    configs: list[ProviderConfig],
    minute: float,
    nice: int,
) -> None:
    os.nice(nice)
    asyncio.run(_worker(queue, concurrency, redis_url, configs, minute))


class DesignDocChat(Driver):
    """The document's web process: each chat turn streamed through its own limiter,
    cache and fallback loop."""

    def __init__(
        self, redis_url: str, configs: list[ProviderConfig], minute_seconds: float
    ) -> None:
        super().__init__()
        self.redis = aioredis.Redis.from_url(redis_url, max_connections=UNBOUNDED)
        self.calls = DesignDocCalls(configs, load_catalog(), self.redis, minute_seconds)

    async def chat_turn(self, history: list[dict[str, str]], out: SessionOutcome) -> str | None:
        task = Task("high", time.time())
        out.tasks.append(task)
        sent = time.perf_counter()
        try:
            call, text, ttft = await self.calls.stream(
                _request(CHAT_SYSTEM, history, CHAT_MAX_TOKENS), "frontier", sent
            )
        except Exception as exc:
            task.error = out.error = f"{type(exc).__name__}: {exc}"[:300]
            return None
        task.finished, task.ok, task.ttft, task.cached = time.time(), True, ttft, call.cached
        out.calls.append(call)
        return text

    async def aclose(self) -> None:
        await self.calls.aclose()
        await self.redis.aclose()


class DesignDocDriver(Driver):
    """Agent and research sessions as jobs on the workers' queues (``apply_async``)."""

    def __init__(self, redis_url: str) -> None:
        super().__init__()
        self.redis_url = redis_url
        self.redis = aioredis.Redis.from_url(redis_url, max_connections=UNBOUNDED)
        self.results: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._reading: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._reading = asyncio.create_task(self.read_results())

    def _future(self, job_id: str) -> asyncio.Future[dict[str, Any]]:
        if job_id not in self.results:
            self.results[job_id] = asyncio.get_running_loop().create_future()
        return self.results[job_id]

    async def read_results(self) -> None:
        """Hands each finished job's result to the session waiting for it."""
        reader = aioredis.Redis.from_url(self.redis_url, max_connections=UNBOUNDED)
        try:
            while True:
                item = await reader.blpop([DONE], timeout=1)
                if item is not None:
                    result = json.loads(item[1])
                    self._future(result["id"]).set_result(result)
        finally:
            await reader.aclose()

    async def submit(self, queue: str, out: SessionOutcome, **job: Any) -> dict[str, Any] | None:
        """Queue a job and wait for its result; None if it failed."""
        job_id = uuid.uuid4().hex
        async with self.queued(queue):
            await self.redis.rpush(
                f"dd:q:{queue}", json.dumps({"id": job_id, "submitted": time.time(), **job})
            )
            result = await self._future(job_id)
        task = Task(queue, result["submitted"], result["finished"], result["ok"], result["error"])
        out.tasks.append(task)
        out.calls.extend(Call(**c) for c in result["calls"])
        if not task.ok:
            out.error = task.error
            return None
        return result

    async def agent(self, s: Session, out: SessionOutcome) -> None:
        history: list[dict[str, str]] = []
        for turn in s.turns:
            history.append({"role": "user", "content": turn})
            result = await self.submit(s.priority.value, out, kind="step", messages=history)
            if result is None:
                return
            history.append({"role": "assistant", "content": result["text"]})
        out.ok = True

    async def research(self, s: Session, out: SessionOutcome) -> None:
        result = await self.submit(
            s.priority.value,
            out,
            kind="research",
            question=s.question,
            sub_questions=list(s.sub_questions),
        )
        out.ok = result is not None

    async def aclose(self) -> None:
        if self._reading is not None:
            self._reading.cancel()
        await self.redis.aclose()


async def run(
    redis_url: str,
    simulator_url: str,
    configs: list[ProviderConfig],
    workload: list[Session],
    *,
    concurrency: int,
    nice: int,
    minute_seconds: float,
    outage_window: tuple[float, float],
    idle_samples: int,
    reset_simulator: Callable[[], Awaitable[None]],
    deadline_seconds: float,
    shared_processes: dict[str, int] | None = None,
) -> RunResult:
    """``shared_processes``: the simulator and Redis (name: pid), counted in the CPU note."""
    redis = aioredis.Redis.from_url(redis_url, max_connections=UNBOUNDED)
    await redis.flushdb()
    chats = SessionsProcess(
        DesignDocChat,
        {"redis_url": redis_url, "configs": configs, "minute_seconds": minute_seconds},
        [s for s in workload if s.kind == "chat"],
        idle_samples=idle_samples,
        deadline=deadline_seconds,
    )
    background = SessionsProcess(
        DesignDocDriver,
        {"redis_url": redis_url},
        [s for s in workload if s.kind != "chat"],
        deadline=deadline_seconds,
        concurrency=concurrency,
        nice=nice,
    )
    workers = [
        multiprocessing.Process(
            target=worker_process,
            args=(q, concurrency, redis_url, configs, minute_seconds, nice),
            name=f"designdoc-{q}",
        )
        for q in QUEUES
    ]
    for w in workers:
        w.start()
    try:
        return await run_scenario(
            "design document",
            chats,
            background,
            simulator_url,
            outage_window=outage_window,
            reset_simulator=reset_simulator,
            processes={
                **(shared_processes or {}),
                **{w.name: w.pid for w in workers if w.pid is not None},
            },
            redis_url=redis_url,
        )
    finally:
        chats.kill()
        background.kill()
        await redis.set(STOP, 1)
        for w in workers:
            w.join(timeout=30)
            if w.is_alive():
                w.kill()
        await redis.aclose()

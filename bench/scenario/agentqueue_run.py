"""The scenario through agentqueue: gateway, limiter, one worker per queue, simulator.

Chats stream through the gateway's Anthropic-compatible ``/v1/messages`` (the
interactive path: cache, shared limiter at ``high``, fallback across providers before
the first byte). Agent sessions use the sessions API (a turn, then a step queued as a
task); research sessions are ``map_reduce`` tasks. Both ask for a signed webhook (to a
receiver in this process) instead of polling: the task view it carries is what the
tables are made of (latency, calls, cost, cache hits, fallbacks).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import httpx
from aiohttp import web

from agentqueue.cli.stack import RunningStack
from agentqueue.core.base.ports import free_port
from agentqueue.core.llm.catalog import load_catalog
from agentqueue.core.llm.messages import Usage
from bench.scenario.driver import Driver
from bench.scenario.gateway_metrics import interactive_notes
from bench.scenario.limits import PRIMARY
from bench.scenario.outcome import Call, RunResult, SessionOutcome, Task
from bench.scenario.scenario_run import run_scenario
from bench.scenario.sessions_process import SessionsProcess
from bench.scenario.sse import read_messages_stream
from bench.scenario.workload import (
    AGENT_MAX_TOKENS,
    AGENT_SYSTEM,
    CHAT_MAX_TOKENS,
    CHAT_SYSTEM,
    MAP_MAX_TOKENS,
    REDUCE_MAX_TOKENS,
    Session,
)

FRONTIER = "claude-sonnet-4-6"
#: The frontier model of the provider after the primary in the fallback order.
FALLBACK_MODEL = "gpt-4.1"


class Webhooks:
    """Receives the workers' webhooks; a waiter gets its task's view."""

    def __init__(self) -> None:
        self.views: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self._runner: web.AppRunner | None = None

    def _future(self, task_id: str) -> asyncio.Future[dict[str, Any]]:
        if task_id not in self.views:
            self.views[task_id] = asyncio.get_running_loop().create_future()
        return self.views[task_id]

    async def _receive(self, request: web.Request) -> web.Response:
        view = await request.json()
        future = self._future(view["id"])
        if not future.done():  # a retried delivery is the same task: once is enough
            future.set_result(view)
        return web.Response(status=204)

    async def start(self) -> None:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_post("/hook", self._receive)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def wait(self, task_id: str) -> dict[str, Any]:
        return await self._future(task_id)


def calls_of(view: dict[str, Any]) -> list[Call]:
    out = []
    for c in view.get("calls", []):
        out.append(
            Call(
                provider=c["provider"],
                model=c["model"],
                input_tokens=c["usage"]["input_tokens"],
                output_tokens=c["usage"]["output_tokens"],
                cost_usd=c["cost_usd"],
                cached=bool(c.get("cached")),
                saved_usd=c.get("saved_usd", 0.0),
                fell_back=not c.get("cached") and c["provider"] != PRIMARY,
            )
        )
    return out


def task_of(view: dict[str, Any], priority: str) -> Task:
    ok = view["status"] == "succeeded"
    error = "" if ok else str((view.get("error") or {}).get("type") or view["status"])
    return Task(priority, view["created_at"], view["finished_at"] or time.time(), ok, error)


class GatewayChat(Driver):
    """Chats streamed through the gateway's Anthropic-compatible ``/v1/messages``."""

    def __init__(self, gateway_url: str, api_key: str) -> None:
        super().__init__()
        self.catalog = load_catalog()
        self.auth = {"Authorization": f"Bearer {api_key}"}
        self.anthropic_auth = {"x-api-key": api_key, "anthropic-version": "2023-06-01"}
        self.http = httpx.AsyncClient(
            base_url=gateway_url,
            timeout=httpx.Timeout(900, connect=30),
            limits=httpx.Limits(max_connections=400, max_keepalive_connections=400),
        )

    async def chat_turn(self, history: list[dict[str, str]], out: SessionOutcome) -> str | None:
        body = {
            "model": FRONTIER,
            "system": CHAT_SYSTEM,
            "max_tokens": CHAT_MAX_TOKENS,
            "temperature": 0,
            "stream": True,
            "messages": history,
        }
        task = Task("high", time.time())
        out.tasks.append(task)
        sent = time.perf_counter()
        try:
            async with self.http.stream(
                "POST", "/v1/messages", json=body, headers=self.anthropic_auth
            ) as r:
                task.headers_s = time.perf_counter() - sent
                if r.status_code != 200:
                    task.error = f"HTTP {r.status_code}: {(await r.aread())[:200]!r}"
                    return None
                path = r.headers.get("x-agentqueue-stream", "")
                task.timing = r.headers.get("server-timing", "")
                read = await read_messages_stream(r.aiter_lines(), sent)
        except httpx.HTTPError as exc:
            task.error = f"{type(exc).__name__}: {exc}"
            return None
        task.finished = time.time()
        task.ttft = read.ttft
        if read.error:
            task.error = read.error
            return None
        task.ok = True
        task.cached = cached = path == "cache"
        # A stream in the caller's protocol (Anthropic) is the primary's own bytes; a
        # translated one came from another provider. Which one, the stream does not say:
        # counted as the next in the fallback order, at its frontier model's price.
        model = FALLBACK_MODEL if path == "translated" else read.model
        provider = self.catalog.get(model).provider
        usage = Usage(input_tokens=read.input_tokens, output_tokens=read.output_tokens)
        price = float(self.catalog.cost_usd(model, usage))
        out.calls.append(
            Call(
                provider,
                model,
                read.input_tokens,
                read.output_tokens,
                0.0 if cached else price,
                cached=cached,
                saved_usd=price if cached else 0.0,
                fell_back=not cached and provider != PRIMARY,
            )
        )
        return read.text

    async def aclose(self) -> None:
        await self.http.aclose()


class AgentqueueDriver(Driver):
    """Agent sessions through the sessions API, research as ``map_reduce`` tasks; each
    finished task is reported by its webhook. It sends no chats (:class:`GatewayChat`
    does, from a process of its own).

    Its requests go through aiohttp, not httpx: with hundreds of pooled connections
    httpx's pool scans every connection for every request (a profile put half of this
    driver's CPU there, half a core in all), and this process stands for 900 users'
    clients on the cores the system under test uses.
    """

    def __init__(self, gateway_url: str, api_key: str) -> None:
        super().__init__()
        self.auth = {"Authorization": f"Bearer {api_key}"}
        self.hooks = Webhooks()
        self.gateway_url = gateway_url
        self.client: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        await self.hooks.start()
        self.client = aiohttp.ClientSession(
            base_url=self.gateway_url,
            headers=self.auth,
            timeout=aiohttp.ClientTimeout(total=900, connect=30),
            connector=aiohttp.TCPConnector(limit=400),
        )

    async def aclose(self) -> None:
        if self.client is not None:
            await self.client.close()
        await self.hooks.stop()

    async def _post(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        """POST ``body``; the status and the parsed answer (its text when not JSON)."""
        assert self.client is not None, "start() first"
        async with self.client.post(path, json=body) as r:
            text = await r.text()
        try:
            return r.status, json.loads(text)
        except ValueError:
            return r.status, text

    @staticmethod
    def _accepted(status: int, body: Any) -> str:
        """The accepted task's id (a step's ``task_id``, a task's ``id``)."""
        if status != 202:
            raise RuntimeError(f"HTTP {status}: {str(body)[:200]}")
        return str(body.get("task_id") or body["id"])

    @staticmethod
    def _ok(status: int, body: Any) -> Any:
        if status >= 400:
            raise RuntimeError(f"HTTP {status}: {str(body)[:200]}")
        return body

    async def _finish(self, task_id: str, out: SessionOutcome, priority: str) -> bool:
        view = await self.hooks.wait(task_id)
        task = task_of(view, priority)
        out.tasks.append(task)
        out.calls.extend(calls_of(view))
        if not task.ok:
            out.error = task.error
        return task.ok

    async def agent(self, s: Session, out: SessionOutcome) -> None:
        created = self._ok(
            *await self._post(
                "/v1/sessions",
                {
                    "system": AGENT_SYSTEM,
                    "tier": "frontier",
                    "max_tokens": AGENT_MAX_TOKENS,
                    "temperature": 0,
                    "turns": [{"role": "user", "content": s.turns[0]}],
                },
            )
        )
        sid = created["id"]
        for k, turn in enumerate(s.turns):
            if k:
                self._ok(
                    *await self._post(
                        f"/v1/sessions/{sid}/turns",
                        {"turns": [{"role": "user", "content": turn}]},
                    )
                )
            async with self.queued(s.priority.value):
                step = await self._post(
                    f"/v1/sessions/{sid}/steps",
                    {"priority": s.priority.value, "webhook_url": self.hooks.url},
                )
                if not await self._finish(self._accepted(*step), out, s.priority.value):
                    return
        out.ok = True

    async def research(self, s: Session, out: SessionOutcome) -> None:
        async with self.queued(s.priority.value):
            await self._research(s, out)

    async def _research(self, s: Session, out: SessionOutcome) -> None:
        r = await self._post(
            "/v1/tasks",
            {
                "kind": "map_reduce",
                "priority": s.priority.value,
                "tier": "frontier",
                "max_tokens": REDUCE_MAX_TOKENS,
                "temperature": 0,
                "messages": [{"role": "user", "content": s.question}],
                "params": {
                    "questions": list(s.sub_questions),
                    "map_tier": "efficient",
                    "reduce_tier": "frontier",
                    "map_max_tokens": MAP_MAX_TOKENS,
                    "max_parallel": len(s.sub_questions),
                },
                "webhook_url": self.hooks.url,
            },
        )
        out.ok = await self._finish(self._accepted(*r), out, s.priority.value)


async def run(
    stack: RunningStack,
    workload: list[Session],
    *,
    outage_window: tuple[float, float],
    idle_samples: int,
    reset_simulator: Callable[[], Awaitable[None]],
    deadline_seconds: float,
    concurrency: int,
    nice: int,
) -> RunResult:
    assert stack.simulator_url is not None
    gateway = {"gateway_url": stack.gateway_url, "api_key": stack.api_key}
    interactive = {
        "gateway_url": stack.interactive_url or stack.gateway_url,
        "api_key": stack.api_key,
    }
    chats = SessionsProcess(
        GatewayChat,
        interactive,
        [s for s in workload if s.kind == "chat"],
        idle_samples=idle_samples,
        deadline=deadline_seconds,
    )
    background = SessionsProcess(
        AgentqueueDriver,
        gateway,
        [s for s in workload if s.kind != "chat"],
        deadline=deadline_seconds,
        concurrency=concurrency,
        nice=nice,
    )
    try:
        result = await run_scenario(
            "agentqueue",
            chats,
            background,
            stack.simulator_url,
            outage_window=outage_window,
            reset_simulator=reset_simulator,
            processes={c.name: c.process.pid for c in stack.group.children},
            redis_url=stack.redis_url,
        )
        result.notes += interactive_notes(
            stack.metrics_urls["gateway-interactive" if stack.interactive_url else "gateway"]
        )
        return result
    finally:
        chats.kill()
        background.kill()

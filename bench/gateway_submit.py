"""Task submission through the gateway, and dispatch latency to idle workers.

    .venv/bin/python -m bench.gateway_submit [--tasks 2000] [--dispatch-samples 60] [--rounds 3]

Runs the real processes (a private redis-server, the simulator, the gateway under
uvicorn, workers) on this machine and prints:

1. the clients alone, against a trivial HTTP server (another process, a fixed 202
   answer): the raw client at concurrency 1, 16 and 64, aiohttp at 64 — what each can
   drive at all, so that a gateway figure near it would say "client-bound";
2. baseline, measured in the same run: what one submission does in Redis, done directly
   in one Python process with no HTTP — ``core.tasks.submission.submit`` (the record and
   its ``queued`` event, the message and its marker, in one script), sequentially (c=1)
   and 64 at a time;
3. submission throughput and latency p50/p99 of ``POST /v1/tasks`` at concurrency 1, 16
   and 64 (raw client) and 64 (aiohttp), authenticated with an API key stored in Redis
   (``agentqueue keys create``);
4. dispatch latency (record created → worker started it) to an idle worker, with our
   poll interval (100 ms) and with Dramatiq's default (1000 ms) as the baseline.

The client that measures is a raw HTTP/1.1 client (:func:`raw_run`), cheap enough that
the gateway's figures are the gateway's; aiohttp is the second opinion. httpx, which this
benchmark used first, costs the most CPU per request of the three, on the same 2 cores
as the gateway (on the code before this round it showed 427/s at c=64 where aiohttp
showed 540-670/s, in separate runs). Each row is the median of ``--rounds`` rounds,
each round measuring the baseline and the gateway in turn; "CPU ms" is CPU time per
task of the process doing the work (the gateway; the bench process for the baseline),
which the machine's load moves far less than the rates.

Measured 2026-12-01 07:12-07:15 on a slower machine than the one below (load average
under 1.2, nothing else running), ``--tasks 2000 --dispatch-samples 2 --rounds 3``: the
code before batched acceptance scripts, pooled ids and cheaper log lines (0579653) and
after, alternately, twice. Gateway at c=64: 1,078 -> 1,200/s and 1,027 -> 1,240/s
(CPU 0.97 -> 0.83 and 1.01 -> 0.80 ms a task), against an in-process baseline of
1,629-1,693/s one at a time (the goal's kind of baseline) and 2,906-4,098/s 64 at a time.
All the figures and what each change did: docs/benchmarks.md.

Measured 2026-11-30 09:26-09:29, one gateway process, ``--tasks 2000 --dispatch-samples 2
--rounds 5``, on 2 cores shared by the client, Redis and the gateway (load average ~1.1,
nothing else running): the code before the direct submission handler
(``gateway/api/direct.py``), then after, back to back; each run's own baseline beside it:

=========================================  ========  ======  ========  ======
submission (tasks/s, CPU ms a task)          before  CPU ms     after  CPU ms
=========================================  ========  ======  ========  ======
baseline: ``submit()`` in-process, c=64        6318   0.160      5680   0.178
gateway ``POST /v1/tasks``, c=1                1328   0.610      1488   0.550
gateway ``POST /v1/tasks``, c=16               2089   0.480      2678   0.375
gateway ``POST /v1/tasks``, c=64               1945   0.535      2558   0.405
gateway, aiohttp client, c=64                  2106   0.485      2498   0.410
=========================================  ========  ======  ========  ======

Four such pairs gave the gateway at c=64 1,832-2,104/s before (0.49-0.57 ms CPU a task)
and 2,099-2,879/s after (0.36-0.49 ms), 28-37% of the same run's in-process baseline
before and 42-48% after. On a loaded machine (a CI run, load average ~3-5) the same code
gave 968/s before and 1,695/s after at c=64, in separate runs; the rates there move by
±30% between rounds, the CPU per task much less. Earlier figures: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import tempfile
import time
from functools import partial
from pathlib import Path

import aiohttp
import httptools
import redis
import redis.asyncio as aioredis
import uvloop

from agentqueue.cli.stack import RunningStack, StackConfig, start_stack
from agentqueue.core.apikeys import ApiKeys
from agentqueue.core.base.ports import free_port
from agentqueue.core.base.priority import Priority
from agentqueue.core.llm.messages import ChatMessage, CompletionRequest
from agentqueue.core.queues.broker import make_broker
from agentqueue.core.tasks.model import TaskRecord, TaskSpec
from agentqueue.core.tasks.store import TaskStore
from agentqueue.core.tasks.submission import submit

BODY = {"messages": [{"role": "user", "content": "Say hi"}], "priority": "batch"}
BODY_BYTES = json.dumps(BODY).encode()
CONCURRENCY = (1, 16, 64)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# --- the client ---------------------------------------------------------------------


async def client_run(
    url: str, path: str, key: str, n: int, concurrency: int
) -> tuple[float, list[float]]:
    """``n`` POSTs of the task body to ``url + path`` over ``concurrency`` keep-alive
    connections (one request in flight on each), after one warm-up request per
    connection; every answer must be 202."""
    latencies: list[float] = []
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    async with aiohttp.ClientSession(url, connector=connector, headers=headers) as session:
        remaining = 0

        async def one() -> None:
            t0 = time.perf_counter()
            async with session.post(path, data=BODY_BYTES) as r:
                text = await r.read()
                assert r.status == 202, text
            latencies.append(time.perf_counter() - t0)

        async def loop() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                await one()

        remaining = concurrency
        await asyncio.gather(*(loop() for _ in range(concurrency)))  # open the connections
        latencies.clear()
        remaining = n
        t0 = time.perf_counter()
        await asyncio.gather(*(loop() for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
    return n / elapsed, latencies


class _Conn(asyncio.Protocol):
    """One keep-alive connection of the raw client: sends the next request as soon as
    the answer to the last one is complete, until the shared count runs out."""

    def __init__(self, run: _RawRun) -> None:
        self.run = run
        self.parser = httptools.HttpResponseParser(self)
        self.t0 = 0.0
        self.body: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.WriteTransport = transport  # type: ignore[assignment]
        self.run.next(self)

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        status = self.parser.get_status_code()
        if status != 202:
            self.run.fail(RuntimeError(f"{status}: {b''.join(self.body)[:300]!r}"))
            return
        self.body.clear()
        self.run.latencies.append(time.perf_counter() - self.t0)
        self.run.next(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.run.fail(exc or ConnectionError("connection closed"))

    def send(self, request: bytes) -> None:
        self.t0 = time.perf_counter()
        self.transport.write(request)


class _RawRun:
    def __init__(self, request: bytes, n: int, concurrency: int) -> None:
        self.request = request
        self.remaining = n
        self.open = concurrency
        self.latencies: list[float] = []
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def next(self, conn: _Conn) -> None:
        if self.remaining > 0:
            self.remaining -= 1
            conn.send(self.request)
            return
        self.open -= 1
        if self.open == 0 and not self.done.done():
            self.done.set_result(None)

    def fail(self, exc: BaseException) -> None:
        if not self.done.done():
            self.done.set_exception(exc)


async def raw_run(
    url: str, path: str, key: str, n: int, concurrency: int
) -> tuple[float, list[float]]:
    """:func:`client_run` with a client that costs next to nothing: a pre-built request
    written on ``concurrency`` keep-alive connections, each answer parsed by httptools
    (uvicorn's parser) in a callback — no coroutine, no client object per request."""
    host, _, port = url.removeprefix("http://").partition(":")
    request = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(BODY_BYTES)}\r\n\r\n"
    ).encode() + BODY_BYTES
    loop = asyncio.get_running_loop()
    conns: list[_Conn] = []
    for n_run in (concurrency, n):  # the first round opens the connections and warms up
        run = _RawRun(request, n_run, concurrency)
        t0 = time.perf_counter()
        if not conns:
            for _ in range(concurrency):
                _, conn = await loop.create_connection(partial(_Conn, run), host, int(port))
                conns.append(conn)
        else:
            for conn in conns:
                conn.run = run
                run.next(conn)
        await run.done
        elapsed = time.perf_counter() - t0
    for conn in conns:
        conn.transport.close()
    return n / elapsed, run.latencies


# --- a trivial server, to measure the client alone ----------------------------------

_TRIVIAL_BODY = b'{"id":"task_0","status":"queued","priority":"batch","status_url":"/v1/tasks/0"}'
_TRIVIAL_ANSWER = (
    b"HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\n"
    b"content-length: " + str(len(_TRIVIAL_BODY)).encode() + b"\r\n\r\n" + _TRIVIAL_BODY
)


class _Trivial(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.WriteTransport = transport  # type: ignore[assignment]
        self.parser = httptools.HttpRequestParser(self)

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_message_complete(self) -> None:
        self.transport.write(_TRIVIAL_ANSWER)


def _serve_trivial(port: int) -> None:
    async def serve() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(_Trivial, "127.0.0.1", port)
        async with server:
            await server.serve_forever()

    uvloop.run(serve())


def client_alone(n: int) -> list[tuple[str, float, list[float]]]:
    port = free_port()
    server = multiprocessing.get_context("spawn").Process(
        target=_serve_trivial, args=(port,), daemon=True
    )
    server.start()
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                uvloop.run(raw_run(f"http://127.0.0.1:{port}", "/", "-", 1, 1))
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        rows = []
        for name, client in CLIENTS:
            for concurrency in CONCURRENCY if name == "raw" else (64,):
                rate, lat = uvloop.run(client(f"http://127.0.0.1:{port}", "/", "-", n, concurrency))
                rows.append((f"{name} client alone, c={concurrency}", rate, lat))
        return rows
    finally:
        server.terminate()
        server.join(10)


#: The clients: ``raw`` measures the gateway; ``aiohttp`` is the second opinion (a
#: real client library, whose own CPU shows in its figures).
CLIENTS = (("raw", raw_run), ("aiohttp", client_run))


# --- the baseline: a submission without HTTP ----------------------------------------


async def baseline_run(redis_url: str, n: int, concurrency: int) -> tuple[float, list[float]]:
    """What one submission does in Redis, in-process: ``submit`` (one script)."""
    client = aioredis.Redis.from_url(redis_url)
    store = TaskStore(client)
    broker = make_broker(redis_url)
    spec = TaskSpec(
        priority=Priority.BATCH,
        input=CompletionRequest(messages=[ChatMessage(role="user", content="Say hi")]),
    )
    latencies: list[float] = []
    remaining = n

    async def loop() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            s = time.perf_counter()
            _, created = await submit(store, broker, TaskRecord(tenant="bench", spec=spec))
            assert created
            latencies.append(time.perf_counter() - s)

    t0 = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(concurrency)))
    elapsed = time.perf_counter() - t0
    broker.close()
    await client.aclose()
    return n / elapsed, latencies


# --- dispatch -----------------------------------------------------------------------


async def dispatch_run(stack: RunningStack, key: str, samples: int) -> list[float]:
    out = []
    headers = {"Authorization": f"Bearer {key}"}
    async with aiohttp.ClientSession(stack.gateway_url, headers=headers) as c:
        for _ in range(samples):
            async with c.post("/v1/tasks", json={**BODY, "priority": "standard"}) as r:
                task_id = (await r.json())["id"]
            while True:
                async with c.get(f"/v1/tasks/{task_id}") as r:
                    view = await r.json()
                if view["status"] == "succeeded":
                    break
                await asyncio.sleep(0.01)
            out.append(view["started_at"] - view["created_at"])
            await asyncio.sleep(1.2)  # let the worker go idle (its poll backs off)
    return out


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) process ``pid`` has used (Linux's ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def row(name: str, rate: float | None, lat: list[float]) -> str:
    rate_s = f"{rate:9.0f}" if rate is not None else f"{'':9}"
    return (
        f"{name:<40} {rate_s} {pct(lat, 0.5) * 1000:9.2f} {pct(lat, 0.99) * 1000:9.2f}"
        f" {statistics.mean(lat) * 1000:9.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--dispatch-samples", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3, help="submission rounds (median)")
    args = parser.parse_args()
    logs = Path(tempfile.mkdtemp(prefix="aq-bench-"))
    stack = start_stack(
        StackConfig(
            reuse_redis=False,
            queues=(),
            log_dir=logs,
            gateway_port=free_port(),  # never another stack's gateway on the default port
            simulator_port=free_port(),
            simulator_env={"AGENTQUEUE_SIM_SPEED": "0"},
        )
    )

    async def new_key() -> str:
        client = aioredis.Redis.from_url(stack.redis_url)
        try:
            key, _ = await ApiKeys(client).create("bench", name="bench")
            return key
        finally:
            await client.aclose()

    try:
        key = asyncio.run(new_key())
        print(
            f"{f'submission (n={args.tasks})':<40} {'tasks/s':>9} {'p50 ms':>9}"
            f" {'p99 ms':>9} {'mean ms':>9} {'CPU ms':>7}   tasks/s over {args.rounds} rounds"
        )
        for name, rate, lat in client_alone(args.tasks):
            print(row(name, rate, lat))
        gateway_pid = next(c for c in stack.group.children if c.name == "gateway").process.pid
        # Each round measures everything once, baseline and gateway in turn, so that both
        # see the same load from whatever else the machine runs; each row is the round
        # with the median rate (its latencies), with the range of the rates. "CPU ms" is
        # the CPU time per task of the process doing the work (the bench process for the
        # baseline, the gateway for the gateway), which the machine's load moves far less
        # than the rates.
        runs: dict[str, list[tuple[float, list[float], float]]] = {}
        for _ in range(args.rounds):
            for concurrency in (1, 64):
                cpu0 = time.process_time()
                rate, lat = uvloop.run(baseline_run(stack.redis_url, args.tasks, concurrency))
                cpu = (time.process_time() - cpu0) / args.tasks
                label = f"baseline: submit() in-process, c={concurrency}"
                runs.setdefault(label, []).append((rate, lat, cpu))
            for name, client in CLIENTS:
                for concurrency in CONCURRENCY if name == "raw" else (64,):
                    cpu0 = process_cpu(gateway_pid)
                    rate, lat = uvloop.run(
                        client(stack.gateway_url, "/v1/tasks", key, args.tasks, concurrency)
                    )
                    cpu = (process_cpu(gateway_pid) - cpu0) / args.tasks
                    label = f"gateway POST /v1/tasks, {name} c={concurrency}"
                    runs.setdefault(label, []).append((rate, lat, cpu))
        for label, results in runs.items():
            ordered = sorted(results, key=lambda r: r[0])
            rate, lat, cpu = ordered[len(ordered) // 2]
            print(
                f"{row(label, rate, lat)} {cpu * 1000:7.3f}"
                f"   {ordered[0][0]:.0f}-{ordered[-1][0]:.0f}"
            )
        redis.Redis.from_url(stack.redis_url).flushall()
        key = asyncio.run(new_key())

        print(
            f"\n{'dispatch to an idle worker':<40} {'':9} {'p50 ms':>9} {'p99 ms':>9}"
            f" {'mean ms':>9}"
        )
        for label, poll in (
            ("baseline: Dramatiq default poll 1000ms", "1000"),
            ("agentqueue poll 100ms", "100"),
        ):
            worker = stack.group.start_service(
                f"worker-{poll}",
                "agentqueue.worker",
                {
                    **stack.worker_env,
                    "AGENTQUEUE_QUEUE": "standard",
                    "AGENTQUEUE_POLL_INTERVAL_MS": poll,
                },
            )
            time.sleep(2.0)
            lat = asyncio.run(dispatch_run(stack, key, args.dispatch_samples))
            print(row(label, None, lat))
            worker.process.terminate()
            worker.process.wait(30)
            stack.group.children.remove(worker)
    finally:
        stack.stop()


if __name__ == "__main__":
    main()

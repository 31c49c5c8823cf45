"""One task is one trace: gateway → queue wait → worker → each LLM call (issue 18, traces).

The gateway runs in-process (``tests/gateway_app.py``) and a Dramatiq worker consumes its
queue in this process too (its actor, its runner and a ``dramatiq.Worker``, as
``python -m agentqueue.worker`` wires them), both on the test's Redis and the simulator;
spans are kept in memory (``tests/spans.py``).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import dramatiq
import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from pydantic import SecretStr

from agentqueue.core.queues.broker import make_broker
from agentqueue.worker.__main__ import build_runner
from agentqueue.worker.actors import register_run_task
from agentqueue.worker.settings import WorkerSettings
from tests.gateway.conftest import KEY_T1, served_settings
from tests.gateway_app import gateway_client
from tests.spans import named, recorded_spans

#: The client's trace: W3C ``traceparent`` of a sampled span it started.
CLIENT_TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CLIENT_TRACEPARENT = f"00-{CLIENT_TRACE_ID}-00f067aa0ba902b7-01"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    with recorded_spans() as exporter:
        yield exporter


@pytest.fixture
async def gateway(
    redis_url: str, simulator: Any, spans: InMemorySpanExporter
) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway in-process, the simulator behind it, tracing on, as tenant t1."""
    async with gateway_client(served_settings(redis_url, simulator.url), KEY_T1) as client:
        yield client


@pytest.fixture
def worker(
    request: pytest.FixtureRequest, redis_url: str, simulator: Any, spans: InMemorySpanExporter
) -> Iterator[None]:
    """A worker of the ``standard`` queue in this process: one thread, short polls, no
    retries (other settings: parametrize ``worker`` indirectly with them)."""
    fields: dict[str, Any] = {"max_retries": 0, **getattr(request, "param", {})}
    settings = WorkerSettings(
        redis_url=SecretStr(redis_url),
        simulator_url=simulator.url,
        threads=1,
        poll_interval_ms=20,
        reconcile_interval=0,
        **fields,
    )
    broker = make_broker(settings)
    register_run_task(broker, settings, build_runner(settings))
    consumer = dramatiq.Worker(broker, queues={"standard"}, worker_threads=1, worker_timeout=20)
    consumer.start()
    try:
        yield
    finally:
        consumer.stop(timeout=5000)
        broker.close()


async def _finished(gateway: httpx.AsyncClient, task_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        view: dict[str, Any] = (await gateway.get(f"/v1/tasks/{task_id}")).json()
        if view["status"] in ("succeeded", "failed"):
            return view
        await asyncio.sleep(0.05)
    raise AssertionError(f"task {task_id} did not finish")


async def _ended(spans: InMemorySpanExporter, name: str) -> tuple[ReadableSpan, ...]:
    """The spans once one named ``name`` ended (the worker ends its task span after the
    record says the task finished)."""
    deadline = time.monotonic() + 5
    while not named(spans.get_finished_spans(), name):
        assert time.monotonic() < deadline, [s.name for s in spans.get_finished_spans()]
        await asyncio.sleep(0.02)
    return spans.get_finished_spans()


async def _submit_traced(
    gateway: httpx.AsyncClient, spans: InMemorySpanExporter
) -> tuple[dict[str, Any], tuple[ReadableSpan, ...]]:
    answer = await gateway.post(
        "/v1/tasks",
        json={"messages": [{"role": "user", "content": f"Say hi {uuid.uuid4()}"}]},
        headers={"traceparent": CLIENT_TRACEPARENT},
    )
    assert answer.status_code == 202, answer.text
    view = await _finished(gateway, answer.json()["id"])
    return view, await _ended(spans, "task ")


def _one_trace(spans: tuple[ReadableSpan, ...]) -> list[ReadableSpan]:
    """The spans of the client's trace, checked to hold every span the task made (the
    polls of ``GET /v1/tasks/{id}`` are traces of their own)."""
    ours = [s for s in spans if s.context and s.context.trace_id == int(CLIENT_TRACE_ID, 16)]
    others = {s.name for s in spans if s not in ours}
    assert others <= {"GET /v1/tasks/{task_id}"}, others
    return ours


async def test_one_task_is_one_trace_from_the_gateway_to_the_llm_call(
    gateway: httpx.AsyncClient, worker: None, spans: InMemorySpanExporter
) -> None:
    view, finished = await _submit_traced(gateway, spans)
    assert view["status"] == "succeeded", view
    finished = tuple(_one_trace(finished))

    [server] = named(finished, "POST /v1/tasks")
    assert server.kind is SpanKind.SERVER
    assert server.parent is not None and server.parent.span_id == 0x00F067AA0BA902B7
    assert server.attributes is not None
    assert server.attributes["http.route"] == "/v1/tasks"
    assert server.attributes["http.response.status_code"] == 202

    [wait] = named(finished, "queue wait")
    [task] = named(finished, "task completion")
    for span in (wait, task):  # siblings under the request's span
        assert span.parent is not None and span.parent.span_id == server.context.span_id
    assert wait.start_time is not None and wait.end_time is not None
    assert server.start_time is not None and wait.start_time >= server.start_time
    assert task.start_time is not None and wait.end_time <= task.start_time
    assert task.attributes is not None and task.attributes["agentqueue.task_id"] == view["id"]
    assert task.attributes["agentqueue.kind"] == "completion"
    assert task.status.status_code is not StatusCode.ERROR

    [call] = named(finished, "chat ")
    assert call.kind is SpanKind.CLIENT
    assert call.parent is not None and call.parent.span_id == task.context.span_id
    attributes = call.attributes
    assert attributes is not None
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.system"] == "anthropic"
    assert attributes["gen_ai.request.model"] == attributes["gen_ai.response.model"]
    assert call.name == f"chat {attributes['gen_ai.request.model']}"
    assert attributes["gen_ai.request.max_tokens"] == 1024
    assert attributes["gen_ai.usage.input_tokens"] == view["usage"]["input_tokens"] > 0
    assert attributes["gen_ai.usage.output_tokens"] == view["usage"]["output_tokens"] > 0
    assert attributes["agentqueue.deployment"] == "default"
    assert attributes["agentqueue.cost_usd"] == pytest.approx(float(view["cost_usd"]))


async def test_a_fallback_is_two_call_spans_the_first_failed(
    gateway: httpx.AsyncClient, worker: None, spans: InMemorySpanExporter, simulator: Any
) -> None:
    simulator.configure({"anthropic": {"outage": True}})
    view, finished = await _submit_traced(gateway, spans)
    assert view["status"] == "succeeded", view
    finished = tuple(_one_trace(finished))
    [task] = named(finished, "task ")
    failed, answered = named(finished, "chat ")
    assert failed.parent == answered.parent == task.context
    assert failed.attributes is not None and answered.attributes is not None
    assert failed.attributes["gen_ai.system"] == "anthropic"
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.attributes["error.type"] == "Overloaded"
    assert answered.attributes["gen_ai.system"] == "openai"
    assert answered.status.status_code is not StatusCode.ERROR
    assert answered.attributes["gen_ai.usage.output_tokens"] > 0


@pytest.mark.parametrize(
    "worker", [{"max_retries": 3, "retry_backoff": 0.05, "retry_backoff_max": 0.1}], indirect=True
)
async def test_a_retried_task_is_another_task_span_in_the_same_trace(
    gateway: httpx.AsyncClient, worker: None, spans: InMemorySpanExporter, simulator: Any
) -> None:
    simulator.configure({"all": {"outage": True}})
    answer = await gateway.post(
        "/v1/tasks",
        json={"messages": [{"role": "user", "content": f"Say hi {uuid.uuid4()}"}]},
        headers={"traceparent": CLIENT_TRACEPARENT},
    )
    assert answer.status_code == 202
    await _ended(spans, "task ")  # the first run failed: every provider is down
    simulator.configure({"all": {"outage": False}})
    view = await _finished(gateway, answer.json()["id"])
    assert view["status"] == "succeeded", view
    deadline = time.monotonic() + 5
    while len(named(spans.get_finished_spans(), "task ")) < 2 or not any(
        s.status.status_code is not StatusCode.ERROR
        for s in named(spans.get_finished_spans(), "task ")
    ):
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)
    finished = _one_trace(spans.get_finished_spans())
    runs = named(finished, "task ")
    assert runs[0].status.status_code is StatusCode.ERROR
    assert runs[-1].status.status_code is not StatusCode.ERROR
    assert len(named(finished, "queue wait")) == len(runs)
    assert runs[-1].attributes is not None and runs[-1].attributes["agentqueue.retries"] >= 1
    [server] = named(finished, "POST /v1/tasks")
    assert {s.parent.span_id for s in runs if s.parent} == {server.context.span_id}


async def test_a_request_id_is_echoed_or_made(gateway: httpx.AsyncClient) -> None:
    given = await gateway.get("/v1/tasks/nope", headers={"x-request-id": "req-42.a_b"})
    assert given.status_code == 404
    assert given.headers["x-request-id"] == "req-42.a_b"
    made = await gateway.post(
        "/v1/tasks", json={"messages": [{"role": "user", "content": "hi"}]}
    )  # the direct fast path
    assert made.status_code == 202
    assert len(made.headers["x-request-id"]) == 32
    for insane in (b"a b", b"x" * 129, b"evil\xe9", b"a;b=c"):
        answer = await gateway.get("/healthz", headers={"x-request-id": insane})
        assert answer.headers["x-request-id"].encode() != insane
        assert len(answer.headers["x-request-id"]) == 32


async def test_an_interactive_call_is_a_server_span_with_its_call_span(
    gateway: httpx.AsyncClient, spans: InMemorySpanExporter
) -> None:
    answer = await gateway.post(
        "/v1/chat/completions",
        json={
            "model": "efficient",
            "messages": [{"role": "user", "content": f"hello {uuid.uuid4()}"}],
            "temperature": 0.5,
        },
        headers={"traceparent": CLIENT_TRACEPARENT, "x-request-id": "interactive-1"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["x-request-id"] == "interactive-1"
    finished = spans.get_finished_spans()
    _one_trace(finished)
    [server] = named(finished, "POST /v1/chat/completions")
    assert server.attributes is not None
    assert server.attributes["agentqueue.request_id"] == "interactive-1"
    [call] = named(finished, "chat ")
    assert call.parent is not None and call.parent.span_id == server.context.span_id
    assert call.attributes is not None
    assert call.attributes["gen_ai.request.temperature"] == 0.5
    assert call.attributes["gen_ai.usage.output_tokens"] > 0

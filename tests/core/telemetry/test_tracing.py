"""Tracing: opt-in set-up, W3C context in a dict, the request id, and the LLM-call spans of
the chain and the cache (the whole trace of a task: ``tests/gateway/test_tracing.py``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from agentqueue.core.cache.exact import ExactCache
from agentqueue.core.calls.fallback import FallbackChain
from agentqueue.core.calls.pipeline import CallPipeline
from agentqueue.core.llm.messages import ChatMessage, Completion, CompletionRequest
from agentqueue.core.telemetry import tracing
from tests.spans import named, recorded_spans


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    with recorded_spans() as exporter:
        yield exporter


def _request(**fields: Any) -> CompletionRequest:
    text = f"Say hi {uuid.uuid4()}"
    return CompletionRequest(messages=[ChatMessage(role="user", content=text)], **fields)


class _Settings:
    def __init__(self, tracing: str) -> None:
        self.tracing = tracing


def test_tracing_is_off_unless_asked_for() -> None:
    assert not tracing.setup_tracing("svc", _Settings("off"), env={})
    assert tracing.tracer() is None
    assert tracing.inject() == {}  # nothing to carry, nothing computed
    assert tracing.tracing_requested("otlp", {})
    assert tracing.tracing_requested("off", {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"})
    assert tracing.tracing_requested(None, {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c"})
    assert not tracing.tracing_requested("off", {"OTEL_EXPORTER_OTLP_ENDPOINT": ""})


def test_asked_for_it_exports_over_otlp_as_the_service(monkeypatch: pytest.MonkeyPatch) -> None:
    installed: list[TracerProvider] = []
    monkeypatch.setattr(trace, "set_tracer_provider", installed.append)  # once per process
    try:
        assert tracing.setup_tracing(
            "agentqueue-test", None, env={"OTEL_EXPORTER_OTLP_ENDPOINT": "x"}
        )
        assert tracing.enabled()
        [provider] = installed
        assert provider.resource.attributes["service.name"] == "agentqueue-test"
        processors = provider._active_span_processor._span_processors
        assert type(processors[0].span_exporter).__name__ == "OTLPSpanExporter"  # type: ignore[attr-defined]
    finally:
        tracing.use_provider(None)
        for provider in installed:
            provider.shutdown()


def test_the_trace_context_travels_in_a_dict(spans: InMemorySpanExporter) -> None:
    tracer = tracing.tracer()
    assert tracer is not None
    with tracer.start_as_current_span("submit") as span:
        carrier = tracing.inject()
    assert set(carrier) >= {"traceparent"}
    parent = trace.get_current_span(tracing.extract(carrier)).get_span_context()
    assert parent.trace_id == span.get_span_context().trace_id
    assert parent.span_id == span.get_span_context().span_id
    assert (
        not trace.get_current_span(tracing.extract({"traceparent": "garbage"}))
        .get_span_context()
        .is_valid
    )
    assert not trace.get_current_span(tracing.extract(None)).get_span_context().is_valid


def test_request_ids_and_the_trace_id_of_the_current_span(spans: InMemorySpanExporter) -> None:
    for sane in ("a", "req-1.2_3", "x" * 128):
        assert tracing.sane_request_id(sane)
    for insane in (None, "", "x" * 129, "a b", "a\r\nb", "é", "a;b"):
        assert not tracing.sane_request_id(insane)
    assert tracing.current_request_id() is None
    token = tracing.set_request_id("req-1")
    try:
        assert tracing.current_request_id() == "req-1"
    finally:
        tracing.reset_request_id(token)
    assert tracing.current_request_id() is None
    assert tracing.current_trace_id() is None
    tracer = tracing.tracer()
    assert tracer is not None
    with tracer.start_as_current_span("work") as span:
        assert tracing.current_trace_id() == format(span.get_span_context().trace_id, "032x")


async def test_each_attempt_of_a_streamed_call_is_a_span(
    chain: FallbackChain, simulator: Any, spans: InMemorySpanExporter
) -> None:
    simulator.configure({"anthropic": {"outage": True}})
    events = [event async for event in chain.stream(_request(max_tokens=64, temperature=0.2))]
    final = events[-1]
    assert isinstance(final, Completion) and final.provider == "openai"
    failed, answered = named(spans.get_finished_spans(), "chat ")
    assert failed.kind is answered.kind is SpanKind.CLIENT
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.attributes is not None and answered.attributes is not None
    assert failed.attributes["gen_ai.system"] == "anthropic"
    assert failed.attributes["error.type"] == "Overloaded"
    assert answered.attributes["gen_ai.system"] == "openai"
    assert answered.attributes["gen_ai.request.temperature"] == 0.2
    assert answered.attributes["gen_ai.usage.output_tokens"] == final.usage.output_tokens


async def test_a_cache_hit_is_a_call_span_that_says_so(
    chain: FallbackChain, aredis: aioredis.Redis, spans: InMemorySpanExporter
) -> None:
    pipeline = CallPipeline(chain, exact=ExactCache(aredis))
    request = _request(max_tokens=64, temperature=0)
    first = await pipeline.complete(request, tenant="t1")
    again = await pipeline.complete(request, tenant="t1")
    assert again.cached == "exact"
    bought, hit = named(spans.get_finished_spans(), "chat ")
    assert bought.attributes is not None and hit.attributes is not None
    assert "agentqueue.cache" not in bought.attributes
    assert hit.attributes["agentqueue.cache"] == "exact"
    assert hit.attributes["agentqueue.cost_usd"] == 0
    assert hit.attributes["agentqueue.saved_usd"] == pytest.approx(float(first.cost_usd))
    assert hit.attributes["gen_ai.response.model"] == first.completion.model


def test_nothing_is_made_with_tracing_off(chain: FallbackChain) -> None:
    from agentqueue.core.calls import spans as call_spans

    provider = chain.providers[0]
    assert call_spans.start_attempt(provider, "m", _request()) is None
    call_spans.failed(None, RuntimeError("x"))  # all no-ops
    call_spans.abandoned(None)

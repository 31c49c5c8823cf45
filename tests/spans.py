"""Spans kept in memory, for tests of what a trace holds (``core/telemetry/tracing.py``).

:func:`recorded_spans` makes agentqueue's spans with an SDK provider whose exporter keeps
them in memory, exported as each ends (``SimpleSpanProcessor``), and turns tracing off
again afterwards; OpenTelemetry's global provider, which a process may set only once, is
left alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agentqueue.core.telemetry import tracing


@contextmanager
def recorded_spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use_provider(provider)
    try:
        yield exporter
    finally:
        tracing.use_provider(None)
        provider.shutdown()


def named(
    spans: Iterator[ReadableSpan] | tuple[ReadableSpan, ...], prefix: str
) -> list[ReadableSpan]:
    """The spans whose name starts with ``prefix``, in the order they ended."""
    return [s for s in spans if s.name.startswith(prefix)]

"""Traces: one task is one trace, from the gateway through the queue to every LLM call.

Why a module of its own, low in ``core``: the gateway's middleware, the queue message,
the worker and the fallback chain all add to the same trace, and each must be able to
tell "tracing is off" for the price of one global read — the submission path is
measured in tenths of a millisecond (``bench/gateway_submit.py``). So tracing is
opt-in, and off means no span work at all: :func:`tracer` is None, and callers skip
their spans rather than make OpenTelemetry's no-op ones.

- :func:`setup_tracing` (each service's start): with ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or
  ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) set, or ``AGENTQUEUE_TRACING=otlp``, an SDK
  provider exporting over OTLP/HTTP in batches (the ``otlp`` extra) becomes the process's
  provider; the exporter reads the standard ``OTEL_EXPORTER_OTLP_*`` variables itself,
  the resource ``OTEL_SERVICE_NAME`` / ``OTEL_RESOURCE_ATTRIBUTES``. Otherwise nothing.
- :func:`use_provider`: a provider of the caller's (tests: an ``InMemorySpanExporter``
  behind a ``SimpleSpanProcessor``), without touching OpenTelemetry's global one, which
  can be set only once per process.
- :func:`inject` / :func:`extract`: the W3C trace context (``traceparent``,
  ``tracestate``) into and out of a dict, as the task's queue message carries it
  (``core/tasks/submission.py`` → ``worker/tracing.py``).

The spans themselves are made where their work is: ``gateway/tracing.py`` (the request),
``worker/tracing.py`` (queue wait, task), ``core/calls/spans.py`` (each LLM call).

The HTTP request being served has an ``x-request-id`` (the client's when sane, else one
made by the gateway's middleware), current for the request's duration:
:func:`current_request_id`, beside :func:`current_trace_id`, for log lines and error
bodies deep below the middleware. Both work with tracing off (the trace id is then None).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from contextvars import ContextVar, Token
from typing import Protocol

from opentelemetry import propagate, trace
from opentelemetry.context import Context

from agentqueue import __version__
from agentqueue.core.base.ids import random_id

log = logging.getLogger(__name__)

#: The instrumentation scope of every span agentqueue makes.
TRACER_NAME = "agentqueue"

#: Variables that ask for OTLP export by themselves (OpenTelemetry's standard ones).
OTLP_ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")

_tracer: trace.Tracer | None = None


class TracingSettings(Protocol):
    """What :func:`setup_tracing` reads from a service's settings (``CoreSettings``)."""

    #: ``off`` or ``otlp`` (``AGENTQUEUE_TRACING``).
    tracing: str


def tracer() -> trace.Tracer | None:
    """The tracer to make spans with; None when tracing is off (then make none)."""
    return _tracer


def enabled() -> bool:
    return _tracer is not None


def use_provider(provider: trace.TracerProvider | None) -> None:
    """Make spans with ``provider`` from now on (None: tracing off again)."""
    global _tracer
    _tracer = None if provider is None else provider.get_tracer(TRACER_NAME, __version__)


def tracing_requested(mode: str | None, env: Mapping[str, str]) -> bool:
    """Whether ``AGENTQUEUE_TRACING`` (``mode``) or the environment asks for export."""
    if mode == "otlp":
        return True
    return any(env.get(name) for name in OTLP_ENDPOINT_VARIABLES)


def setup_tracing(
    service_name: str,
    settings: TracingSettings | None = None,
    *,
    env: Mapping[str, str] | None = None,
) -> bool:
    """Export this process's spans over OTLP if asked (see the module docstring).

    Returns whether tracing is on. Asked for without the exporter installed, it stays
    off with a warning naming the extra: a service never fails to start over its traces.
    """
    env = os.environ if env is None else env
    if not tracing_requested(getattr(settings, "tracing", None), env):
        return False
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as exc:
        log.warning("tracing asked for but not possible (pip install 'agentqueue[otlp]'): %s", exc)
        return False
    attributes: dict[str, str] = {SERVICE_VERSION: __version__}
    if not env.get("OTEL_SERVICE_NAME"):  # the operator's name for it wins
        attributes[SERVICE_NAME] = service_name
    provider = TracerProvider(resource=Resource.create(attributes))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)  # libraries asking the global one find it too
    use_provider(provider)
    log.info("tracing on: spans exported over OTLP/HTTP as %s", service_name)
    return True


def inject(context: Context | None = None) -> dict[str, str]:
    """The current (or ``context``'s) trace context as W3C headers in a dict; empty when
    tracing is off or no span is current."""
    if _tracer is None:
        return {}
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=context)
    return carrier


def extract(carrier: Mapping[str, str] | None) -> Context:
    """The context a carrier of :func:`inject` (or HTTP headers) names; an empty one
    (a new trace starts) when it names none or is malformed."""
    return propagate.extract(dict(carrier or {}))


#: A client's ``x-request-id`` is echoed only when it is this sane (no header injection,
#: nothing a log pipeline would choke on); otherwise the gateway makes its own.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")

_REQUEST_ID: ContextVar[str | None] = ContextVar("agentqueue_request_id", default=None)


def sane_request_id(value: str | None) -> bool:
    """Whether a client's request id may be echoed: 1-128 of ``[A-Za-z0-9._-]``."""
    return value is not None and _SANE_REQUEST_ID.fullmatch(value) is not None


def new_request_id() -> str:
    """A fresh request id (32 hex digits)."""
    return random_id()


def current_request_id() -> str | None:
    """The ``x-request-id`` of the HTTP request being served here; None outside one."""
    return _REQUEST_ID.get()


def set_request_id(request_id: str | None) -> Token[str | None]:
    """Make ``request_id`` current; undo with :func:`reset_request_id`."""
    return _REQUEST_ID.set(request_id)


def reset_request_id(token: Token[str | None]) -> None:
    _REQUEST_ID.reset(token)


def current_trace_id() -> str | None:
    """The current trace's id (32 hex digits, as ``traceparent`` writes it); None when no
    span is current (tracing off, or outside a request and a task)."""
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


__all__ = [
    "TRACER_NAME",
    "TracingSettings",
    "current_request_id",
    "current_trace_id",
    "enabled",
    "extract",
    "inject",
    "new_request_id",
    "reset_request_id",
    "sane_request_id",
    "set_request_id",
    "setup_tracing",
    "tracer",
    "tracing_requested",
    "use_provider",
]

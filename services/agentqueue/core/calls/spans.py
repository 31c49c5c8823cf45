"""One span per LLM call attempt, in OpenTelemetry's GenAI semantic conventions.

Why per attempt, not per call: a fallback is the story a trace should tell — the
provider that failed (status ERROR, ``error.type``), then the one that answered — so
:class:`~agentqueue.core.calls.fallback.FallbackChain` opens a span around each
provider it tries, and :class:`~agentqueue.core.calls.pipeline.CallPipeline` one for a
cache hit (``agentqueue.cache``), which calls no provider. Each span is named
``chat <model>``, kind CLIENT, a child of whatever span is current (the gateway's
request, the worker's task).

Every function takes and returns ``None`` when tracing is off
(:func:`agentqueue.core.telemetry.tracing.tracer`), so the chain pays one global read
per attempt then. A span is never made current: an attempt may be a stream, an async
generator suspended between events, where a context attached and detached across
``yield`` would leak into the caller's.
"""

from __future__ import annotations

from decimal import Decimal

from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from agentqueue.core.calls.deployments import deployment_of
from agentqueue.core.llm.call_result import CallResult
from agentqueue.core.llm.messages import Completion, CompletionRequest
from agentqueue.core.llm.providers.base import Provider
from agentqueue.core.telemetry import tracing

#: ``gen_ai.system`` by deployment kind (semantic conventions' well-known values).
GEN_AI_SYSTEMS = {
    "openai": "openai",
    "openai-compatible": "openai",
    "azure-openai": "az.ai.openai",
    "anthropic": "anthropic",
    "anthropic-bedrock": "aws.bedrock",
    "anthropic-vertex": "gcp.vertex_ai",
    "gemini": "gcp.gemini",
    "vertex-gemini": "gcp.vertex_ai",
    "google": "gcp.gemini",
}


def gen_ai_system(provider: str, kind: str | None = None) -> str:
    """The ``gen_ai.system`` of a deployment of ``provider`` (by its kind when known)."""
    return GEN_AI_SYSTEMS.get(kind or provider, GEN_AI_SYSTEMS.get(provider, provider))


def _request_attributes(request: CompletionRequest) -> dict[str, str | int | float]:
    attributes: dict[str, str | int | float] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.max_tokens": request.max_tokens,
    }
    if request.temperature is not None:
        attributes["gen_ai.request.temperature"] = request.temperature
    if request.top_p is not None:
        attributes["gen_ai.request.top_p"] = request.top_p
    return attributes


def start_attempt(provider: Provider, model: str, request: CompletionRequest) -> Span | None:
    """The span of one attempt at ``provider`` (one deployment) with ``model``; None when
    tracing is off. End it with :func:`answered` or :func:`failed`."""
    tracer = tracing.tracer()
    if tracer is None:
        return None
    system = gen_ai_system(provider.name, getattr(provider.config, "kind", None))
    attributes = _request_attributes(request)
    attributes["gen_ai.system"] = system
    attributes["gen_ai.provider.name"] = system  # the attribute's newer name
    attributes["gen_ai.request.model"] = model
    attributes["agentqueue.provider"] = provider.name
    attributes["agentqueue.deployment"] = deployment_of(provider)
    attributes["agentqueue.tier"] = request.tier.value
    return tracer.start_span(f"chat {model}", kind=SpanKind.CLIENT, attributes=attributes)


def _answer_attributes(span: Span, completion: Completion, cost_usd: Decimal) -> None:
    span.set_attributes(
        {
            "gen_ai.response.model": completion.model,
            "gen_ai.usage.input_tokens": completion.usage.input_tokens,
            "gen_ai.usage.output_tokens": completion.usage.output_tokens,
            "agentqueue.cost_usd": float(cost_usd),
        }
    )
    cache_read = completion.usage.cache_read_tokens
    if cache_read:
        span.set_attribute("gen_ai.usage.cache_read.input_tokens", cache_read)
    if completion.stop_reason:
        span.set_attribute("gen_ai.response.finish_reasons", (completion.stop_reason,))


def answered(span: Span | None, completion: Completion, cost_usd: Decimal) -> None:
    """End an attempt that answered: the model that did, its usage and cost."""
    if span is None:
        return
    _answer_attributes(span, completion, cost_usd)
    span.end()


def failed(span: Span | None, exc: BaseException) -> None:
    """End an attempt that failed (or was abandoned: a cancellation, a quota): status
    ERROR and ``error.type``, the error's class."""
    if span is None:
        return
    span.set_attribute("error.type", type(exc).__name__)
    span.set_status(Status(StatusCode.ERROR, str(exc)[:500]))
    span.end()


def abandoned(span: Span | None) -> None:
    """End an attempt nobody waits for any more (a stream's client went away)."""
    if span is None:
        return
    span.set_attribute("error.type", "abandoned")
    span.end()


def cache_hit(request: CompletionRequest, result: CallResult) -> None:
    """A span for a call the cache answered: no provider called, nothing spent."""
    tracer = tracing.tracer()
    if tracer is None:
        return
    completion = result.completion
    attributes = _request_attributes(request)
    system = gen_ai_system(completion.provider)
    attributes["gen_ai.system"] = system
    attributes["gen_ai.provider.name"] = system
    attributes["gen_ai.request.model"] = request.model or completion.model
    attributes["agentqueue.provider"] = completion.provider
    attributes["agentqueue.tier"] = request.tier.value
    attributes["agentqueue.cache"] = result.cached or "hit"
    attributes["agentqueue.saved_usd"] = float(result.saved_usd)
    span = tracer.start_span(
        f"chat {completion.model}", kind=SpanKind.CLIENT, attributes=attributes
    )
    answered(span, completion, result.cost_usd)


__all__ = ["abandoned", "answered", "cache_hit", "failed", "gen_ai_system", "start_attempt"]

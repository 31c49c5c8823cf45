"""What every LLM call attempt leaves behind: its series and its one log line.

Apart from :mod:`agentqueue.core.calls.fallback` so that the chain says *when* (an
attempt failed, answered, fell back, sent its first token) and this module *what*
(which families, which labels, which level). Recorded in the process that makes the
call — the gateway for interactive calls, the workers for tasks — in the families of
:mod:`agentqueue.core.telemetry.metrics`.

A failure the client caused (a bad request) is logged at INFO, a refusal that is part
of normal flow (rate limited, circuit open) at INFO too, and only provider trouble
(5xx, timeouts, overload, credentials) at WARNING: ERROR is kept for what an operator
must act on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from decimal import Decimal

from agentqueue.core.base.errors import BadRequest, CircuitOpen, ProviderError, RateLimited
from agentqueue.core.base.priority import Priority
from agentqueue.core.llm.breaker import BreakerState, CircuitBreaker
from agentqueue.core.llm.call_result import Attempt
from agentqueue.core.llm.messages import Usage
from agentqueue.core.telemetry import metrics as m
from agentqueue.core.telemetry.context import current_task_id
from agentqueue.core.telemetry.exposition import multiproc_dir
from agentqueue.core.telemetry.tracing import current_request_id

log = logging.getLogger("agentqueue.llm")

_STATE_VALUE = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}


def _breaker_listener(deployment: str) -> Callable[[BreakerState], None]:
    gauge = m.BREAKER_STATE.labels(deployment)
    opened = m.BREAKER_OPENED.labels(deployment)

    def heard(state: BreakerState) -> None:
        gauge.set(_STATE_VALUE[state])
        if state is BreakerState.OPEN:
            opened.inc()

    return heard


def watch_breakers(breakers: Mapping[str, CircuitBreaker]) -> None:
    """Publish each breaker's state (closed to start with) and count its openings."""
    for deployment, breaker in breakers.items():
        state = breaker.state  # heard before listening: not counted as an opening
        breaker.on_change = _breaker_listener(deployment)
        m.BREAKER_STATE.labels(deployment).set(_STATE_VALUE[state])
        m.BREAKER_OPENED.labels(deployment)  # at zero


def forget_breakers(
    current: Mapping[str, CircuitBreaker], retired: Mapping[str, CircuitBreaker] | None = None
) -> None:
    """After a reload installed a chain with the ``current`` breakers: no series of
    ``agentqueue_breaker_state`` for a deployment it no longer has (an open breaker of a
    dropped deployment would otherwise say 2, and alert, until the process restarts).

    The ``retired`` chain's breakers stop publishing (the calls still running on it
    could otherwise bring the series of a dropped deployment back, or overwrite a kept
    one's, which the new breaker owns). In multiprocess mode prometheus_client cannot
    remove a series from this process's file: it is set to 0 (closed) instead.
    """
    for breaker in (retired or {}).values():
        breaker.on_change = None
    published = {
        sample.labels["deployment"]
        for family in m.BREAKER_STATE.collect()
        for sample in family.samples
    }
    for deployment in published - set(current):
        if multiproc_dir() is not None:
            m.BREAKER_STATE.labels(deployment).set(_STATE_VALUE[BreakerState.CLOSED])
        else:
            m.BREAKER_STATE.remove(deployment)


def deployment_known(provider: str, deployment: str) -> None:
    """Per-deployment counters at zero (models are many: theirs start at first use)."""
    m.LLM_FALLBACKS.labels(provider, deployment)


def fell_back(failed: Attempt) -> None:
    """``failed`` was followed by another attempt."""
    m.LLM_FALLBACKS.labels(failed.provider, failed.deployment or m.DEFAULT_DEPLOYMENT).inc()


def first_token(provider: str, model: str, deployment: str, seconds: float) -> None:
    m.LLM_TTFT.labels(provider, model, deployment).observe(seconds)


def _failure_level(exc: ProviderError) -> int:
    if isinstance(exc, BadRequest | RateLimited | CircuitOpen):
        return logging.INFO  # the client's request, or the limits doing their job
    return logging.WARNING


def attempt_failed(
    attempt: Attempt, exc: ProviderError, tenant: str | None = None, waited: float = 0.0
) -> None:
    """A failed attempt: its outcome and duration (``waited`` for its budget left out),
    and its line."""
    deployment = attempt.deployment or m.DEFAULT_DEPLOYMENT
    outcome = m.outcome_of(exc)
    m.LLM_CALLS.labels(attempt.provider, attempt.model, deployment, outcome).inc()
    if isinstance(exc, RateLimited) and exc.status == 429:  # the provider's, not our limiter's
        m.PROVIDER_429S.labels(attempt.provider, attempt.model, deployment).inc()
    if not isinstance(exc, CircuitOpen):  # refused before any call: no duration
        m.LLM_CALL_DURATION.labels(attempt.provider, attempt.model, deployment).observe(
            max(0.0, attempt.latency_s - waited)
        )
    log.log(
        _failure_level(exc),
        "llm call %s/%s (%s) failed after %.2fs: %s",
        attempt.provider,
        attempt.model,
        deployment,
        attempt.latency_s,
        exc,
        extra={
            "event": "llm_call",
            "outcome": outcome,
            "provider": attempt.provider,
            "model": attempt.model,
            "deployment": deployment,
            "latency_s": round(attempt.latency_s, 4),
            "budget_wait_s": round(waited, 4),
            "error_type": type(exc).__name__,
            "status": exc.status,
            "task_id": current_task_id.get(),
            "request_id": current_request_id(),  # an interactive call's HTTP request
            "tenant": tenant,
        },
    )


def attempt_succeeded(
    attempt: Attempt,
    usage: Usage,
    cost: Decimal,
    priority: Priority | None,
    tenant: str | None,
    waited: float = 0.0,
    *,
    call: str = "chat",
) -> None:
    """An answered attempt: tokens, cost, outcome and duration (``waited`` for its
    budget left out), and its line. ``call``: ``chat`` or ``embeddings``."""
    deployment = attempt.deployment or m.DEFAULT_DEPLOYMENT
    labels = (attempt.provider, attempt.model, deployment)
    prio = str(getattr(priority, "value", priority)) if priority is not None else "none"
    who = m.tenant_label(tenant)
    for kind, tokens in (
        ("input", usage.input_tokens),
        ("output", usage.output_tokens),
        ("cache_read", usage.cache_read_tokens),
        ("cache_write", usage.cache_write_tokens),
    ):
        child = m.LLM_TOKENS.labels(*labels, prio, who, kind)
        if tokens:
            child.inc(tokens)
    m.LLM_COST.labels(*labels, prio, who).inc(float(cost))
    m.LLM_CALLS.labels(*labels, "ok").inc()
    m.LLM_CALL_DURATION.labels(*labels).observe(max(0.0, attempt.latency_s - waited))
    log.info(
        "llm %s %s/%s (%s): %.2fs, %d in / %d out tokens, $%s",
        call,
        attempt.provider,
        attempt.model,
        deployment,
        attempt.latency_s,
        usage.input_tokens,
        usage.output_tokens,
        cost,
        extra={
            "event": "llm_call",
            "call": call,
            "outcome": "ok",
            "provider": attempt.provider,
            "model": attempt.model,
            "deployment": deployment,
            "latency_s": round(attempt.latency_s, 4),
            "budget_wait_s": round(waited, 4),
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "cache_read_tokens": usage.cache_read_tokens,
            "cache_write_tokens": usage.cache_write_tokens,
            "cost_usd": cost,
            "priority": prio if priority is not None else None,
            "task_id": current_task_id.get(),
            "request_id": current_request_id(),  # an interactive call's HTTP request
            "tenant": tenant,
        },
    )

"""What the fallback chain records of each call: tokens, cost, outcomes, durations,
fallbacks, breaker state, time to first token, and one log line per attempt."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY

from agentqueue.core.base.errors import BadRequest, Overloaded, ProviderError, RateLimited
from agentqueue.core.base.priority import Priority
from agentqueue.core.calls import observe
from agentqueue.core.calls.fallback import FallbackChain
from agentqueue.core.llm.call_result import Attempt
from agentqueue.core.llm.messages import ChatMessage, CompletionRequest
from agentqueue.core.telemetry import metrics as m
from agentqueue.core.telemetry.context import task_context

REQUEST = CompletionRequest(messages=[ChatMessage(role="user", content="Say hi")], max_tokens=64)


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def acme() -> Iterator[None]:
    m.set_known_tenants({"acme"})
    yield
    m.set_known_tenants(())


async def test_an_answer_counts_its_tokens_cost_call_and_duration(
    chain: FallbackChain, acme: None
) -> None:
    model = chain.catalog.default_model("anthropic", REQUEST.tier).model
    where = {"provider": "anthropic", "model": model, "deployment": "default"}
    bought = {**where, "priority": "batch", "tenant": "acme"}
    before = {
        "input": value("agentqueue_llm_tokens_total", **bought, type="input"),
        "output": value("agentqueue_llm_tokens_total", **bought, type="output"),
        "cost": value("agentqueue_llm_cost_usd_total", **bought),
        "ok": value("agentqueue_llm_calls_total", **where, outcome="ok"),
        "timed": value("agentqueue_llm_call_duration_seconds_count", **where),
    }
    result = await chain.complete(REQUEST, Priority.BATCH, "acme")
    usage = result.completion.usage
    assert value("agentqueue_llm_tokens_total", **bought, type="input") - before[
        "input"
    ] == pytest.approx(usage.input_tokens)
    assert value("agentqueue_llm_tokens_total", **bought, type="output") - before[
        "output"
    ] == pytest.approx(usage.output_tokens)
    assert value("agentqueue_llm_cost_usd_total", **bought) - before["cost"] == pytest.approx(
        float(result.cost_usd)
    )
    assert value("agentqueue_llm_calls_total", **where, outcome="ok") - before["ok"] == 1
    assert value("agentqueue_llm_call_duration_seconds_count", **where) - before["timed"] == 1


async def test_an_unnamed_tenant_is_other(chain: FallbackChain, acme: None) -> None:
    model = chain.catalog.default_model("anthropic", REQUEST.tier).model
    labels = {
        "provider": "anthropic",
        "model": model,
        "deployment": "default",
        "priority": "standard",
        "tenant": "other",
    }
    before = value("agentqueue_llm_cost_usd_total", **labels)
    await chain.complete(REQUEST, Priority.STANDARD, "someone-new")
    assert value("agentqueue_llm_cost_usd_total", **labels) > before


async def test_a_fallback_counts_the_failed_attempt_and_its_outcome(
    chain: FallbackChain, simulator
) -> None:
    model = chain.catalog.default_model("anthropic", REQUEST.tier).model
    failed = {"provider": "anthropic", "deployment": "default"}
    before_fallbacks = value("agentqueue_llm_fallbacks_total", **failed)
    before_overloaded = value(
        "agentqueue_llm_calls_total", **failed, model=model, outcome="overloaded"
    )
    simulator.configure({"anthropic": {"outage": True}})
    result = await chain.complete(REQUEST)
    assert result.completion.provider == "openai"
    assert value("agentqueue_llm_fallbacks_total", **failed) - before_fallbacks == 1
    assert (
        value("agentqueue_llm_calls_total", **failed, model=model, outcome="overloaded")
        - before_overloaded
        == 1
    )


async def test_the_breaker_state_gauge_follows_the_breaker(chain: FallbackChain, simulator) -> None:
    assert value("agentqueue_breaker_state", deployment="anthropic") == 0
    opened = value("agentqueue_breaker_opened_total", deployment="anthropic")
    simulator.configure({"anthropic": {"outage": True}})
    for _ in range(2):  # failure_threshold=2 opens it
        await chain.complete(REQUEST)
    assert value("agentqueue_breaker_state", deployment="anthropic") == 2
    assert value("agentqueue_breaker_opened_total", deployment="anthropic") - opened == 1
    chain.breakers["anthropic"].cooldown = 0
    simulator.configure({"anthropic": {"outage": False}})
    assert chain.breakers["anthropic"].state == "half_open"
    assert value("agentqueue_breaker_state", deployment="anthropic") == 1
    await chain.complete(REQUEST)
    assert value("agentqueue_breaker_state", deployment="anthropic") == 0


async def test_a_stream_observes_its_time_to_first_token(chain: FallbackChain) -> None:
    model = chain.catalog.default_model("anthropic", REQUEST.tier).model
    where = {"provider": "anthropic", "model": model, "deployment": "default"}
    before = value("agentqueue_llm_time_to_first_token_seconds_count", **where)
    tokens_before = value(
        "agentqueue_llm_tokens_total", **where, priority="high", tenant="other", type="output"
    )
    async for _ in chain.stream(REQUEST):
        pass
    assert value("agentqueue_llm_time_to_first_token_seconds_count", **where) - before == 1
    assert (
        value(
            "agentqueue_llm_tokens_total", **where, priority="high", tenant="other", type="output"
        )
        > tokens_before
    )


async def test_one_log_line_per_call_with_its_facts(
    chain: FallbackChain, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="agentqueue.llm"), task_context("task-42"):
        result = await chain.complete(REQUEST, Priority.HIGH, "acme")
    (line,) = [r for r in caplog.records if r.name == "agentqueue.llm"]
    assert line.levelno == logging.INFO
    facts = line.__dict__
    assert facts["event"] == "llm_call" and facts["outcome"] == "ok"
    assert facts["provider"] == "anthropic" and facts["deployment"] == "default"
    assert facts["model"] == result.completion.model
    assert facts["task_id"] == "task-42" and facts["tenant"] == "acme"
    assert facts["priority"] == "high"
    assert facts["input_tokens"] == result.completion.usage.input_tokens
    assert facts["output_tokens"] == result.completion.usage.output_tokens
    assert facts["cost_usd"] == result.cost_usd
    assert facts["latency_s"] >= 0


@pytest.mark.parametrize(
    ("error", "level"),
    [
        (BadRequest("max_tokens too large", provider="openai", status=400), logging.INFO),
        (RateLimited("slow down", provider="openai", status=429), logging.INFO),
        (Overloaded("overloaded", provider="openai", status=529), logging.WARNING),
    ],
)
def test_a_failure_the_client_caused_is_not_a_warning(
    error: ProviderError, level: int, caplog: pytest.LogCaptureFixture
) -> None:
    attempt = Attempt(provider="openai", model="gpt-4.1", ok=False, latency_s=0.2)
    before = value(
        "agentqueue_provider_429s_total", provider="openai", model="gpt-4.1", deployment="default"
    )
    with caplog.at_level(logging.INFO, logger="agentqueue.llm"):
        observe.attempt_failed(attempt, error, "acme")
    (line,) = caplog.records
    assert line.levelno == level
    assert line.__dict__["outcome"] == m.outcome_of(error)
    counted = value(
        "agentqueue_provider_429s_total", provider="openai", model="gpt-4.1", deployment="default"
    )
    assert counted - before == (1 if isinstance(error, RateLimited) else 0)


def test_a_reload_forgets_the_breaker_state_of_dropped_deployments() -> None:
    """An open breaker of a deployment the new chain no longer has: its series goes (it
    said 2, and alerted, until the process restarted), the kept one's stays, and the
    retired breaker cannot bring it back."""
    from agentqueue.core.llm.breaker import CircuitBreaker

    east, west = CircuitBreaker("east", failure_threshold=1), CircuitBreaker("west")
    observe.watch_breakers({"gone-east": east, "kept-west": west})
    east.record_failure()
    assert east.state.value == "open"
    assert REGISTRY.get_sample_value("agentqueue_breaker_state", {"deployment": "gone-east"}) == 2
    new_west = CircuitBreaker("west")
    observe.watch_breakers({"kept-west": new_west})
    observe.forget_breakers({"kept-west": new_west}, {"gone-east": east, "kept-west": west})
    assert (
        REGISTRY.get_sample_value("agentqueue_breaker_state", {"deployment": "gone-east"}) is None
    )
    assert REGISTRY.get_sample_value("agentqueue_breaker_state", {"deployment": "kept-west"}) == 0
    east.record_success()
    east.record_failure()  # the retired chain's calls still running: not published
    assert east.state.value == "open"
    assert (
        REGISTRY.get_sample_value("agentqueue_breaker_state", {"deployment": "gone-east"}) is None
    )

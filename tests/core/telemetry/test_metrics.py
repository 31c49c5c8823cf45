"""The shared metric families' labels: tenants bounded, budget names split, outcomes
named, and no ``_created`` series."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY, generate_latest

from agentqueue.core.telemetry import metrics as m


@pytest.fixture
def tenants() -> Iterator[None]:
    m.set_known_tenants({"acme": {}, "globex": {}, "*": {}})
    yield
    m.set_known_tenants(())


def test_named_tenants_keep_their_name_and_any_other_is_other(tenants: None) -> None:
    assert m.tenant_label("acme") == "acme"
    assert m.tenant_label("globex") == "globex"
    assert m.tenant_label("made-up-by-a-client") == "other"
    assert m.tenant_label(None) == "other"
    assert m.tenant_label("*") == "other"  # the default quota names no tenant


def test_without_configured_tenants_every_tenant_is_other() -> None:
    m.set_known_tenants(())
    assert m.tenant_label("acme") == "other"


@pytest.mark.parametrize(
    ("name", "parts"),
    [
        ("anthropic:claude-sonnet-4-6:default", ("anthropic", "claude-sonnet-4-6", "default")),
        ("openai:gpt-4.1:eu-west", ("openai", "gpt-4.1", "eu-west")),
        ("openai:gpt-4.1", ("openai", "gpt-4.1", "default")),  # as the settings read it
        # a model id with a colon of its own (Bedrock): the deployment is after the last
        (
            "anthropic:anthropic.claude-3-5-sonnet-20240620-v1:0:bedrock-us",
            ("anthropic", "anthropic.claude-3-5-sonnet-20240620-v1:0", "bedrock-us"),
        ),
    ],
)
def test_budget_names_split_into_provider_model_and_deployment(
    name: str, parts: tuple[str, str, str]
) -> None:
    assert m.split_budget(name) == parts


def test_tenant_quota_budgets_are_not_provider_budgets() -> None:
    assert m.split_budget("tenant:acme") is None
    assert m.quota_tenant("tenant:acme") == "acme"
    assert m.quota_tenant("openai:gpt-4.1:default") is None


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (None, "ok"),
        ("RateLimited", "rate_limited"),
        ("Overloaded", "overloaded"),
        ("ProviderServerError", "server_error"),
        ("ProviderTimeout", "timeout"),
        ("ProviderAuthError", "auth"),
        ("BadRequest", "bad_request"),
        ("ContextTooLong", "bad_request"),
        ("CircuitOpen", "circuit_open"),
        ("SomethingElse", "other"),
    ],
)
def test_outcomes_are_a_closed_set(error: str | None, outcome: str) -> None:
    assert m.outcome_of(error) == outcome
    assert outcome in m.OUTCOMES


def test_no_created_series_are_exported() -> None:
    m.LLM_CALLS.labels("openai", "gpt-4.1", "default", "ok").inc()
    text = generate_latest(REGISTRY).decode()
    assert "agentqueue_llm_calls_total" in text
    assert "_created" not in text


def test_deployment_counters_start_at_zero() -> None:
    m.init_deployment("google", "gemini-zero-test", "zero-dep")
    assert (
        REGISTRY.get_sample_value(
            "agentqueue_llm_calls_total",
            {
                "provider": "google",
                "model": "gemini-zero-test",
                "deployment": "zero-dep",
                "outcome": "server_error",
            },
        )
        == 0
    )
    assert (
        REGISTRY.get_sample_value(
            "agentqueue_llm_fallbacks_total", {"provider": "google", "deployment": "zero-dep"}
        )
        == 0
    )

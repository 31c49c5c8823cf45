"""Settings refuse what would silently misbehave, in one line, never echoing a secret."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from agentqueue.core.settings import CoreSettings, settings_error
from agentqueue.gateway.settings import GatewaySettings
from agentqueue.simulator.settings import SimulatorSettings

SECRET = "sk-live-SECRET-0123456789abcdef"


@pytest.mark.parametrize(
    ("budgets", "says"),
    [
        ({"claude-sonnet-4-6": {"rpm": 1, "tpm": 2}}, "provider:model"),
        ({"acme:model": {"rpm": 1, "tpm": 2}}, "provider:model"),
        ({"anthropic:": {"rpm": 1, "tpm": 2}}, "provider:model"),
        ({"anthropic:claude-sonnet-4-6": {"rpm": 1, "tmp": 2}}, "unknown field(s) ['tmp']"),
        ({"anthropic:claude-sonnet-4-6": {"rpm": 1}}, "missing tpm"),
        ({"anthropic:claude-sonnet-4-6": {"rpm": 0, "tpm": 5}}, "rpm must be a positive"),
        ({"anthropic:claude-sonnet-4-6": {"rpm": 1, "tpm": -5}}, "tpm must be a positive"),
        ({"openai:gpt-4.1": {"rpm": 1, "tpm": float("inf")}}, "tpm must be a positive"),
    ],
)
def test_bad_budgets_are_refused_at_load(budgets: dict, says: str) -> None:
    with pytest.raises(ValidationError) as info:
        CoreSettings(budgets=budgets)
    line = settings_error(info.value)
    assert line.startswith("invalid configuration: AGENTQUEUE_BUDGETS") and says in line
    assert "\n" not in line


def test_good_budgets_and_quotas_load() -> None:
    settings = CoreSettings(
        budgets={
            "anthropic:claude-sonnet-4-6": {"rpm": 10, "tpm": 1000, "itpm": 800, "otpm": 200},
            "openai:gpt-4.1:team-a": {"rpm": 5, "tpm": 50, "minute_seconds": 3},
        },
        tenant_quotas={"acme": {"tpm": 5, "usd_per_day": 0}, "*": {"rpm": 3}},
    )
    assert set(settings.budget_limits()) == {
        "anthropic:claude-sonnet-4-6:default",
        "openai:gpt-4.1:team-a",
    }
    assert settings.quotas()["*"].rpm == 3


@pytest.mark.parametrize(
    ("quotas", "says"),
    [
        ({"acme": {"tmp": 5}}, "unknown field(s) ['tmp']"),
        ({"acme": {"tpm": 0}}, "tpm must be a positive"),
        ({"acme": {"usd_per_day": -1}}, "usd_per_day must be 0 or more"),
        ({"": {"tpm": 5}}, "tenant name is empty"),
    ],
)
def test_bad_tenant_quotas_are_refused_at_load(quotas: dict, says: str) -> None:
    with pytest.raises(ValidationError) as info:
        CoreSettings(tenant_quotas=quotas)
    line = settings_error(info.value)
    assert "AGENTQUEUE_TENANT_QUOTAS" in line and says in line


def test_a_validation_error_never_shows_the_input(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTQUEUE_API_KEYS", f"t1:{SECRET[:10]}")  # too short: refused
    monkeypatch.setenv("AGENTQUEUE_OPENAI_API_KEY", SECRET)
    with pytest.raises(ValidationError) as info:
        GatewaySettings()
    assert SECRET not in str(info.value) and SECRET[:10] not in str(info.value)
    assert "input_value" not in str(info.value)
    line = settings_error(info.value, GatewaySettings)
    assert "AGENTQUEUE_API_KEYS entries must be tenant:key" in line and SECRET[:10] not in line
    with pytest.raises(ValidationError) as sim:
        SimulatorSettings(port=SecretStr(SECRET))  # type: ignore[arg-type]
    assert SECRET not in str(sim.value) and "input_value" not in str(sim.value)


def test_a_service_refuses_invalid_settings_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from agentqueue.core.settings import parse_service_args

    monkeypatch.setenv("AGENTQUEUE_API_KEYS", f"t1:{SECRET[:12]}")
    with pytest.raises(SystemExit) as info:
        parse_service_args("python -m agentqueue.gateway", None, GatewaySettings, [])
    assert info.value.code == (
        "python -m agentqueue.gateway: invalid configuration: AGENTQUEUE_API_KEYS entries "
        "must be tenant:key with a key of at least 16 characters"
    )
    monkeypatch.delenv("AGENTQUEUE_API_KEYS")
    monkeypatch.setenv("AGENTQUEUE_TENANT_QUOTAS", "{not json")
    with pytest.raises(SystemExit) as info:
        parse_service_args("svc", None, GatewaySettings, [])
    assert "invalid configuration" in str(info.value.code)
    assert "tenant_quotas" in str(info.value.code)
    monkeypatch.delenv("AGENTQUEUE_TENANT_QUOTAS")
    parse_service_args("svc", None, GatewaySettings, [])  # valid: returns

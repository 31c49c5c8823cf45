import pytest

from agentqueue.core.calls.registry import DEFAULT_SIMULATOR_URL, provider_configs
from agentqueue.core.settings import CoreSettings

KEY_VARS = (
    "ANTHROPIC_API_KEY",
    "OPENAI_API_KEY",
    "GOOGLE_API_KEY",
    "GEMINI_API_KEY",
    "ANTHROPIC_BASE_URL",
    "OPENAI_BASE_URL",
    "GOOGLE_GEMINI_BASE_URL",
    "AGENTQUEUE_SIMULATOR_URL",
    "AGENTQUEUE_PROVIDER_ORDER",
)


@pytest.fixture(autouse=True)
def _no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in KEY_VARS:
        monkeypatch.delenv(var, raising=False)


def test_no_keys_means_every_provider_is_the_simulator() -> None:
    configs = provider_configs(CoreSettings())
    assert [c.name for c in configs] == ["anthropic", "openai", "google"]
    assert all(c.simulated for c in configs)
    assert configs[1].base_url == DEFAULT_SIMULATOR_URL + "/v1"


def test_keyed_provider_is_real_and_keyless_ones_are_skipped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-real")
    monkeypatch.setenv("OPENAI_BASE_URL", "https://proxy.invalid/v1")
    configs = provider_configs(CoreSettings())
    assert [(c.name, c.simulated, c.base_url) for c in configs] == [
        ("openai", False, "https://proxy.invalid/v1")
    ]
    assert "sk-real" not in repr(configs[0])


def test_explicit_simulator_fills_in_for_keyless_providers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GOOGLE_API_KEY", "g-real")
    monkeypatch.setenv("AGENTQUEUE_SIMULATOR_URL", "http://127.0.0.1:9999")
    monkeypatch.setenv("AGENTQUEUE_PROVIDER_ORDER", "google,anthropic")
    configs = provider_configs(CoreSettings())
    assert [(c.name, c.simulated) for c in configs] == [("google", False), ("anthropic", True)]


def test_unknown_provider_in_order_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTQUEUE_PROVIDER_ORDER", "anthropic,mistral")
    with pytest.raises(ValueError, match="mistral"):
        CoreSettings()

import pytest

from agentqueue.core.calls.registry import (
    DEFAULT_SIMULATOR_URL,
    provider_configs,
    simulated_providers,
)
from agentqueue.core.settings import CoreSettings
from tests.conftest import PROVIDER_ENV

KEY_VARS = PROVIDER_ENV  # every variable that could point a provider elsewhere


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


def test_a_simulator_url_alone_never_fills_in_for_keyless_providers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With a real key, a simulated answer must never reach the caller: after the real
    provider's 429 the chain has nowhere else to go, rather than a simulated Anthropic."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-real")
    monkeypatch.setenv("AGENTQUEUE_SIMULATOR_URL", "http://127.0.0.1:9999")
    settings = CoreSettings()
    assert [(c.name, c.simulated) for c in provider_configs(settings)] == [("openai", False)]
    assert simulated_providers(settings) == []


def test_no_keys_use_the_configured_simulator_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTQUEUE_SIMULATOR_URL", "http://127.0.0.1:9999/")
    configs = provider_configs(CoreSettings())
    assert [c.base_url for c in configs] == [
        "http://127.0.0.1:9999",
        "http://127.0.0.1:9999/v1",
        "http://127.0.0.1:9999",
    ]


def test_simulate_names_the_providers_the_simulator_plays_beside_real_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GOOGLE_API_KEY", "g-real")
    monkeypatch.setenv("AGENTQUEUE_SIMULATOR_URL", "http://127.0.0.1:9999")
    monkeypatch.setenv("AGENTQUEUE_PROVIDER_ORDER", "google,anthropic,openai")
    monkeypatch.setenv("AGENTQUEUE_SIMULATE", "Anthropic")
    configs = provider_configs(CoreSettings())
    assert [(c.name, c.simulated) for c in configs] == [("google", False), ("anthropic", True)]
    assert configs[1].base_url == "http://127.0.0.1:9999" and configs[1].api_key == "sim-anthropic"


def test_simulate_all_wins_over_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """``all`` (the demo's setting) never spends a real key, whatever the shell exports."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-real")
    monkeypatch.setenv("AGENTQUEUE_SIMULATE", "all")
    configs = provider_configs(CoreSettings())
    assert [(c.name, c.simulated) for c in configs] == [
        ("anthropic", True),
        ("openai", True),
        ("google", True),
    ]
    assert all("sk-real" not in c.api_key for c in configs)


def test_an_explicit_list_is_the_whole_simulated_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTQUEUE_SIMULATE", "google")
    assert [c.name for c in provider_configs(CoreSettings())] == ["google"]


def test_unknown_provider_to_simulate_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTQUEUE_SIMULATE", "anthropic,mistral")
    with pytest.raises(ValueError, match="mistral"):
        CoreSettings()


def test_unknown_provider_in_order_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTQUEUE_PROVIDER_ORDER", "anthropic,mistral")
    with pytest.raises(ValueError, match="mistral"):
        CoreSettings()

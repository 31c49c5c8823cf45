"""The file fills the settings it states; an environment variable still overrides one."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from agentqueue.core.config.errors import ConfigError
from agentqueue.core.config.schema import AgentQueueConfig
from agentqueue.core.settings import CoreSettings, check_settings
from agentqueue.gateway.settings import GatewaySettings

FILE = """\
tenants:
  acme: {tpm: 200000, usd_per_day: 50}
  "*": {tpm: 50000}
routing:
  provider_order: [openai, anthropic]
cache: {ttl: 600, semantic: true, tenant_ttls: {acme: 60}}
webhooks: {allow_http: true}
deployments:
  - {name: vllm, kind: openai-compatible, base_url: "http://vllm:8000/v1",
     models: [{model: llama-3.1-8b}]}
"""


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "agentqueue.yaml"
    path.write_text(FILE)
    monkeypatch.setenv("AGENTQUEUE_CONFIG", str(path))
    for name in ("TENANT_QUOTAS", "CACHE_TTL", "PROVIDER_ORDER", "CACHE_SEMANTIC"):
        monkeypatch.delenv(f"AGENTQUEUE_{name}", raising=False)
    return path


def test_the_file_sets_the_settings_it_states(config_file: Path) -> None:
    settings = CoreSettings()
    assert settings.config_file == str(config_file)
    assert settings.tenant_quotas["acme"] == {
        "tpm": 200000,
        "usd_per_day": 50,
        "minute_seconds": 60,
    }
    assert settings.quotas()["*"].tpm == 50_000
    assert settings.provider_order == ["openai", "anthropic"]
    assert (settings.cache_ttl, settings.cache_semantic) == (600, True)
    assert settings.cache_tenant_ttls == {"acme": 60}
    assert settings.webhook_allow_http is True
    assert settings.webhook_allow_private is False  # not stated: the default
    assert [d.name for d in settings.file_config().deployments] == ["vllm"]


def test_an_environment_variable_overrides_one_setting(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTQUEUE_CACHE_TTL", "5")
    settings = GatewaySettings()
    assert settings.cache_ttl == 5
    assert settings.cache_semantic is True  # the rest of the section still applies


def test_env_tenants_win_over_the_file_and_say_so(
    config_file: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("AGENTQUEUE_TENANT_QUOTAS", '{"beta": {"tpm": 7}}')
    with caplog.at_level(logging.INFO, logger="agentqueue.core.config.source"):
        settings = CoreSettings()
    assert settings.tenant_quotas == {"beta": {"tpm": 7}}  # replaced, not merged
    said = [r.getMessage() for r in caplog.records if "AGENTQUEUE_TENANT_QUOTAS" in r.message]
    assert said and "AGENTQUEUE_TENANT_QUOTAS wins" in said[0]


def test_keyword_arguments_override_the_file(config_file: Path) -> None:
    assert CoreSettings(cache_ttl=9).cache_ttl == 9


def test_without_a_file_nothing_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGENTQUEUE_CONFIG", raising=False)
    settings = CoreSettings()
    assert settings.config_file is None and settings.file_config() == AgentQueueConfig()
    assert settings.provider_order == ["anthropic", "openai", "google"]


def test_an_unknown_provider_in_the_order_names_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("routing: {provider_order: [openai, mistral]}\n")
    monkeypatch.setenv("AGENTQUEUE_CONFIG", str(path))
    with pytest.raises(ConfigError) as info:
        CoreSettings()
    assert str(info.value) == (
        f"{path}: routing.provider_order: unknown provider(s) mistral; "
        "known: anthropic, openai, google"
    )


def test_a_broken_file_stops_a_service_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("deployments:\n  - {name: a, kind: openai, api_key: sk-SECRET-1, models: []}\n")
    monkeypatch.setenv("AGENTQUEUE_CONFIG", str(path))
    with pytest.raises(SystemExit) as info:
        check_settings("svc", GatewaySettings)
    line = str(info.value.code)
    assert line.startswith(f"svc: invalid configuration file {path}: deployments[0].models:")
    assert "; deployments[0].api_key: a secret is never written inline" in line
    assert "\n" not in line and "sk-SECRET" not in line


def test_reloaded_reads_the_file_again(config_file: Path) -> None:
    settings = GatewaySettings()
    config_file.write_text(FILE.replace("ttl: 600", "ttl: 700"))
    assert settings.reloaded().cache_ttl == 700
    assert isinstance(settings.reloaded(), GatewaySettings)


@pytest.mark.parametrize("service", ["gateway", "worker", "limiter"])
def test_a_service_started_on_a_broken_file_exits_with_one_line(
    service: str, tmp_path: Path
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("deployments:\n  - {name: a, kind: openai, api_key: sk-SECRET-2, models: []}\n")
    done = subprocess.run(
        [sys.executable, "-m", f"agentqueue.{service}"],
        env={"AGENTQUEUE_CONFIG": str(path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    err = done.stderr.strip()
    assert "\n" not in err and "Traceback" not in err and "sk-SECRET" not in err
    assert err.startswith(f"python -m agentqueue.{service}: invalid configuration file {path}: ")
    assert "deployments[0].api_key: a secret is never written inline" in err

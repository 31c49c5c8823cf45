"""The configuration file checked against the catalog: what the schema alone cannot see."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from agentqueue.core.config.schema import AgentQueueConfig
from agentqueue.core.llm.catalog import config_problems


def config(*models: str, kind: str = "openai", **extra: object) -> AgentQueueConfig:
    deployment = {"name": "a", "kind": kind, "models": [{"model": m} for m in models]}
    if kind == "openai-compatible":
        deployment["base_url"] = "http://127.0.0.1:1/v1"
    return AgentQueueConfig.model_validate({"deployments": [deployment], **extra})


def test_known_models_and_aliases_pass() -> None:
    assert config_problems(config("gpt-4.1", "openai/gpt-4.1-mini")) == []
    assert config_problems(config("fast", aliases={"fast": "gpt-4.1-mini"})) == []


def test_an_unknown_model_is_named_with_its_path_and_a_suggestion() -> None:
    (problem,) = config_problems(config("gpt-4.1", "gpt-41"))
    assert problem.startswith("deployments[0].models[1].model: ")
    assert "'gpt-41'" in problem and "gpt-4.1" in problem


def test_a_model_of_another_protocol_is_refused_unless_openai_compatible() -> None:
    (problem,) = config_problems(config("claude-sonnet-4-6"))
    assert "claude-sonnet-4-6 is a model of anthropic" in problem
    local = {
        "provider": "local",
        "model": "llama-3.1-8b",
        "tier": "efficient",
        "context_window": 131072,
        "max_output_tokens": 8192,
        "input": 0,
        "output": 0,
    }
    assert config_problems(config("llama-3.1-8b", kind="openai-compatible", models=[local])) == []


def test_an_alias_to_nothing_is_one_problem() -> None:
    (problem,) = config_problems(config("gpt-4.1", aliases={"fast": "gpt-9"}))
    assert "fast" in problem


def test_service_start_exits_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"deployments": [
        {"name": "a", "kind": "openai", "models": [{"model": "gpt-41"}]}]}))  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "agentqueue.limiter"],
        env={"AGENTQUEUE_CONFIG": str(path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "deployments[0].models[0].model" in lines[0], done.stderr
    assert "Traceback" not in done.stderr

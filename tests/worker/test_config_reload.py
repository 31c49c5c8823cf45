"""A worker swaps its pipeline when the configuration file changes; calls go on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import SecretStr

from agentqueue.worker.__main__ import build_runner, build_webhook_sender
from agentqueue.worker.reload import reloader
from agentqueue.worker.settings import WorkerSettings


async def test_a_changed_file_swaps_the_runner_pipeline(
    redis_url: str, simulator: Any, tmp_path: Path
) -> None:
    path = tmp_path / "agentqueue.yaml"
    path.write_text("webhooks: {allow_http: false}\ncache: {ttl: 60}\n")
    settings = WorkerSettings(
        redis_url=SecretStr(redis_url), simulator_url=simulator.url, AGENTQUEUE_CONFIG=str(path)
    )
    runner = build_runner(settings)
    sender = build_webhook_sender(settings, runner.store)
    watcher, retirer = reloader(settings, runner, sender, grace=3600)
    old, old_runtime = runner.chain, runner.runtime
    try:
        path.write_text("webhooks: {allow_http: true}\ncache: {ttl: 120}\n")
        assert await watcher.check() is True
        assert runner.chain is not old and runner.runtime is not old_runtime
        assert sender.policy.allow_http is True
        assert runner.chain.policy.default_ttl == 120  # type: ignore[attr-defined]
        assert retirer.pending == 1  # the old pipeline waits out its grace
        path.write_text("webhooks: {allow_http: true}\ncache: {ttl: -1}\n")
        assert await watcher.check() is False  # broken: the running one stays
        assert runner.chain.policy.default_ttl == 120  # type: ignore[attr-defined]
    finally:
        await retirer.aclose()
        await runner.chain.aclose()  # type: ignore[attr-defined]
        await runner.store.redis.aclose()


async def test_a_reload_that_drops_a_deployment_drops_its_breaker_state(
    redis_url: str, simulator: Any, tmp_path: Path
) -> None:
    import yaml
    from prometheus_client import REGISTRY

    def deployment(name: str) -> dict[str, Any]:
        models = [{"model": "gpt-4.1"}]
        return {"name": name, "kind": "openai", "simulated": True, "models": models}

    def state(name: str) -> float | None:
        return REGISTRY.get_sample_value("agentqueue_breaker_state", {"deployment": name})

    path = tmp_path / "agentqueue.yaml"
    names = ("w-east", "w-west")
    path.write_text(yaml.safe_dump({"deployments": [deployment(n) for n in names]}))
    settings = WorkerSettings(
        redis_url=SecretStr(redis_url), simulator_url=simulator.url, AGENTQUEUE_CONFIG=str(path)
    )
    runner = build_runner(settings)
    watcher, retirer = reloader(settings, runner, grace=3600)
    try:
        east = runner.chain.chain.breakers["w-east"]  # type: ignore[attr-defined]
        for _ in range(east.failure_threshold):
            east.record_failure()
        assert state("w-east") == 2
        path.write_text(yaml.safe_dump({"deployments": [deployment("w-west")]}))
        assert await watcher.check() is True
        assert state("w-east") is None and state("w-west") == 0
    finally:
        await retirer.aclose()
        await runner.chain.aclose()  # type: ignore[attr-defined]
        await runner.store.redis.aclose()

"""The gateway reloads its configuration file without dropping a call in flight."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import openai
import pytest

from agentqueue.gateway.app import create_app
from tests.gateway.conftest import KEY_T1, served_settings
from tests.servers import serving

BEFORE = "cache: {enabled: false}\ntenants: {t1: {tpm: 10000000}}\n"
AFTER = "cache: {enabled: false}\ntenants: {t1: {tpm: 20000000}, t2: {tpm: 5}}\n"


async def _until(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


@pytest.mark.slow
async def test_a_reload_while_a_stream_is_in_flight_does_not_break_it(
    redis_url: str, simulator: Any, tmp_path: Path
) -> None:
    path = tmp_path / "agentqueue.yaml"
    path.write_text(BEFORE)
    simulator.configure({"all": {"speed": 0.05}})  # a stream of ~1 s
    settings = served_settings(redis_url, simulator.url, AGENTQUEUE_CONFIG=str(path))
    assert settings.quotas()["t1"].tpm == 10_000_000
    app = create_app(settings)
    with serving(app, name="gateway") as url:
        client = openai.AsyncOpenAI(base_url=f"{url}/v1", api_key=KEY_T1, max_retries=0)
        try:
            before = app.state.pipeline
            stream = await client.chat.completions.create(
                model="gpt-4.1",
                messages=[{"role": "user", "content": "Write a long story about queues."}],
                max_tokens=400,
                stream=True,
            )
            text, finish, reloaded_mid_stream, after = "", None, False, 0
            async for chunk in stream:
                after += reloaded_mid_stream
                if chunk.choices:
                    text += chunk.choices[0].delta.content or ""
                    finish = chunk.choices[0].finish_reason or finish
                if not reloaded_mid_stream:
                    path.write_text(AFTER)
                    app.state.config_watcher.trigger()
                    await _until(lambda: app.state.pipeline is not before)
                    reloaded_mid_stream = True
            assert reloaded_mid_stream and text and finish in ("stop", "length")
            assert after > 5  # the stream went on after the swap, on the old pipeline
            assert app.state.settings.quotas()["t2"].tpm == 5
            assert app.state.quotas is not None and app.state.chain is app.state.pipeline.chain
            # the next call runs on the new pipeline
            answer = await client.chat.completions.create(
                model="gpt-4.1", messages=[{"role": "user", "content": "hi"}], max_tokens=20
            )
            assert answer.choices[0].message.content
        finally:
            await client.close()


@pytest.mark.slow
async def test_a_broken_new_file_keeps_the_running_configuration(
    redis_url: str, simulator: Any, tmp_path: Path
) -> None:
    path = tmp_path / "agentqueue.yaml"
    path.write_text(BEFORE)
    app = create_app(served_settings(redis_url, simulator.url, AGENTQUEUE_CONFIG=str(path)))
    with serving(app, name="gateway") as url:
        client = openai.AsyncOpenAI(base_url=f"{url}/v1", api_key=KEY_T1, max_retries=0)
        try:
            before = app.state.pipeline
            path.write_text("tenants: {t1: {tmp: 5}}\n")
            app.state.config_watcher.trigger()
            await asyncio.sleep(0.5)
            assert app.state.pipeline is before and app.state.config_watcher.reloads == 0
            answer = await client.chat.completions.create(
                model="gpt-4.1", messages=[{"role": "user", "content": "hi"}], max_tokens=20
            )
            assert answer.choices[0].message.content
        finally:
            await client.close()


async def test_a_reload_that_drops_a_deployment_drops_its_breaker_state(
    redis_url: str, simulator: Any, tmp_path: Path
) -> None:
    """East's breaker is open, then a reload drops east: its ``agentqueue_breaker_state``
    series goes with it (not 2, alerting, until a restart); west's stays."""
    import yaml
    from prometheus_client import REGISTRY

    def deployment(name: str) -> dict[str, Any]:
        models = [{"model": "gpt-4.1"}]
        return {"name": name, "kind": "openai", "simulated": True, "models": models}

    def state(name: str) -> float | None:
        return REGISTRY.get_sample_value("agentqueue_breaker_state", {"deployment": name})

    path = tmp_path / "agentqueue.yaml"
    path.write_text(yaml.safe_dump({"deployments": [deployment("east"), deployment("west")]}))
    settings = served_settings(redis_url, simulator.url, AGENTQUEUE_CONFIG=str(path))
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        before = app.state.chain
        east = before.breakers["east"]
        for _ in range(east.failure_threshold):
            east.record_failure()
        assert state("east") == 2
        path.write_text(yaml.safe_dump({"deployments": [deployment("west")]}))
        app.state.config_watcher.trigger()
        await _until(lambda: app.state.chain is not before)
        assert set(app.state.chain.breakers) == {"west"}
        assert state("east") is None and state("west") == 0

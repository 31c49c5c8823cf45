"""The watcher applies each new valid file, on change or SIGHUP, and never a broken one."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from pathlib import Path

import pytest

from agentqueue.core.config.loader import load_config
from agentqueue.core.config.schema import AgentQueueConfig
from agentqueue.core.config.watch import ConfigWatcher, Retirer

V1 = "tenants: {acme: {tpm: 1000}}\n"
V2 = "tenants: {acme: {tpm: 2000}}\n"


class Applied:
    def __init__(self) -> None:
        self.configs: list[AgentQueueConfig] = []
        self.fail = False

    async def __call__(self, config: AgentQueueConfig) -> None:
        if self.fail:
            raise RuntimeError("cannot build")
        self.configs.append(config)


def _rewrite(path: Path, text: str) -> None:
    """As an editor or a ConfigMap update does: a new file renamed over the old one."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    path = tmp_path / "agentqueue.yaml"
    path.write_text(V1)
    return path


async def test_a_changed_file_is_applied(config_path: Path) -> None:
    applied = Applied()
    watcher = ConfigWatcher(config_path, applied, current=load_config(config_path))
    assert await watcher.check() is False  # nothing changed
    _rewrite(config_path, V2)
    assert await watcher.check() is True
    assert applied.configs[-1].tenants["acme"].tpm == 2000
    assert watcher.current == applied.configs[-1]
    assert await watcher.check() is False


async def test_a_touched_file_with_the_same_content_is_not_applied(config_path: Path) -> None:
    applied = Applied()
    watcher = ConfigWatcher(config_path, applied, current=load_config(config_path))
    _rewrite(config_path, V1)
    assert await watcher.check() is False and applied.configs == []


async def test_a_broken_file_is_one_log_line_and_the_old_one_stays(
    config_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    applied = Applied()
    watcher = ConfigWatcher(config_path, applied, current=load_config(config_path))
    _rewrite(config_path, "tenants: {acme: {tmp: 5}}\n  api_key: sk-SECRET-x\n")
    with caplog.at_level(logging.ERROR):
        assert await watcher.check() is False
        assert await watcher.check() is False  # said once, not at every look
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and "\n" not in lines[0] and "sk-SECRET" not in lines[0]
    assert lines[0].startswith(f"configuration not reloaded, the running one stays: {config_path}:")
    assert applied.configs == [] and watcher.current is not None
    assert watcher.current.tenants["acme"].tpm == 1000
    _rewrite(config_path, V2)
    assert await watcher.check() is True


async def test_a_failing_apply_keeps_the_old_configuration(
    config_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    applied = Applied()
    applied.fail = True
    old = load_config(config_path)
    watcher = ConfigWatcher(config_path, applied, current=old)
    _rewrite(config_path, V2)
    with caplog.at_level(logging.ERROR):
        assert await watcher.check() is False
    assert watcher.current == old
    assert "not applied, the running one stays: RuntimeError: cannot build" in caplog.text


async def test_a_rotated_secret_file_rebuilds(tmp_path: Path) -> None:
    key = tmp_path / "key"
    key.write_text("one")
    path = tmp_path / "agentqueue.yaml"
    path.write_text(
        "deployments:\n"
        f"  - {{name: a, kind: openai, api_key: {{file: {key}}}, models: [{{model: m}}]}}\n"
    )
    applied = Applied()
    watcher = ConfigWatcher(path, applied, current=load_config(path))
    _rewrite(key, "two-longer")
    assert await watcher.check() is True and len(applied.configs) == 1


async def test_sighup_reloads_at_once(config_path: Path) -> None:
    applied = Applied()
    watcher = ConfigWatcher(config_path, applied, current=load_config(config_path), interval=60)
    watcher.start()
    try:
        assert watcher.install_sighup()
        await asyncio.sleep(0.05)
        os.kill(os.getpid(), signal.SIGHUP)  # same file: a forced reload (rotated secrets)
        for _ in range(100):
            if applied.configs:
                break
            await asyncio.sleep(0.02)
        assert len(applied.configs) == 1 and watcher.reloads == 1
    finally:
        await watcher.stop()


async def test_polling_notices_a_change(config_path: Path) -> None:
    applied = Applied()
    watcher = ConfigWatcher(config_path, applied, current=load_config(config_path), interval=0.05)
    watcher.start()
    try:
        _rewrite(config_path, V2)
        for _ in range(100):
            if applied.configs:
                break
            await asyncio.sleep(0.02)
        assert applied.configs and applied.configs[0].tenants["acme"].tpm == 2000
    finally:
        await watcher.stop()


async def test_the_retirer_closes_after_the_grace_or_at_stop() -> None:
    closed: list[str] = []

    def closer(name: str):  # type: ignore[no-untyped-def]
        async def aclose() -> None:
            closed.append(name)

        return aclose

    quick = Retirer(0.01)
    quick.retire(closer("a"))
    await asyncio.sleep(0.1)
    assert closed == ["a"] and quick.pending == 0
    slow = Retirer(3600)
    slow.retire(closer("b"))
    await asyncio.sleep(0.01)
    assert closed == ["a"] and slow.pending == 1
    await slow.aclose()
    assert closed == ["a", "b"]

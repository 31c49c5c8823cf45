"""Reload the configuration file when it changes or on SIGHUP, never into a broken one.

A service hands :class:`ConfigWatcher` the file and what to do with a new configuration
(build a new call path and swap it in). The watcher polls the file's signature (inode,
size, mtime of what the path resolves to: a ConfigMap update swaps a symlink, an editor
renames a temporary file) and the signatures of the secret files it references (a
rotated key in a mounted Secret), every ``interval`` seconds; SIGHUP forces a reload at
once. Polling rather than inotify: a few ``stat`` calls every few seconds cost nothing,
and inotify misses ConfigMap updates made through symlinks.

A new file that does not validate is logged as one line and the running configuration
stays; so does one whose ``on_change`` fails. What was replaced is closed later, by
:class:`Retirer`, so that calls and streams already running on it finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Awaitable, Callable

from agentqueue.core.config.errors import ConfigError
from agentqueue.core.config.loader import cached_config, file_signature
from agentqueue.core.config.schema import AgentQueueConfig

log = logging.getLogger(__name__)

#: Seconds between two looks at the file.
DEFAULT_INTERVAL = 3.0

OnChange = Callable[[AgentQueueConfig], Awaitable[None]]


def _secret_files(config: AgentQueueConfig | None) -> list[str]:
    if config is None:
        return []
    refs = (
        ref
        for d in config.deployments
        for ref in (d.api_key, d.aws_access_key_id, d.aws_secret_access_key)
        if ref is not None and ref.file is not None
    )
    return sorted({ref.file for ref in refs if ref.file is not None})


class ConfigWatcher:
    """Calls ``on_change`` with each new valid version of the file ``path``."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        on_change: OnChange,
        *,
        current: AgentQueueConfig | None = None,
        interval: float = DEFAULT_INTERVAL,
    ) -> None:
        self.path = os.fspath(path)
        self.on_change = on_change
        #: The configuration running now (the one the service started with).
        self.current = current
        self.interval = interval
        self.reloads = 0
        self._file_seen = file_signature(self.path)
        self._secrets_seen = self._secret_signatures(current)
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._sighup = False

    def _secret_signatures(self, config: AgentQueueConfig | None) -> dict[str, object]:
        return {path: file_signature(path) for path in _secret_files(config)}

    def trigger(self) -> None:
        """Reload now, changed or not (SIGHUP). Safe from any thread once started."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake.set)
        else:
            self._wake.set()

    async def check(self, *, forced: bool = False) -> bool:
        """One look at the file; True when a new configuration was applied."""
        file_now = file_signature(self.path)
        secrets_now = self._secret_signatures(self.current)
        file_changed = file_now != self._file_seen
        secrets_changed = secrets_now != self._secrets_seen
        if not (forced or file_changed or secrets_changed):
            return False
        self._file_seen, self._secrets_seen = file_now, secrets_now
        try:
            config = cached_config(self.path)
        except ConfigError as exc:
            log.error("configuration not reloaded, the running one stays: %s", exc)
            return False
        if config == self.current and not (forced or secrets_changed):
            return False  # touched, or rewritten with the same content
        try:
            await self.on_change(config)
        except Exception as exc:  # the service could not build from it: keep the old one
            reason = " ".join(f"{type(exc).__name__}: {exc}".split())
            log.error("configuration %s not applied, the running one stays: %s", self.path, reason)
            return False
        self.current = config
        self._secrets_seen = self._secret_signatures(config)
        self.reloads += 1
        log.info("configuration reloaded from %s", self.path)
        return True

    async def run(self) -> None:
        """Look every ``interval`` seconds, or at once when triggered, until cancelled."""
        self._loop = asyncio.get_running_loop()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            forced = self._wake.is_set()
            self._wake.clear()
            try:
                await self.check(forced=forced)
            except Exception:  # never let the watcher die: the next look may succeed
                log.exception("configuration watcher failed; still watching %s", self.path)

    def start(self) -> asyncio.Task[None]:
        """:meth:`run` as a task of the running loop (call :meth:`stop` to end it)."""
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self.run(), name="config-watcher")
        return self._task

    def install_sighup(self) -> bool:
        """Reload on SIGHUP, through the running loop; False where a loop cannot take
        signals (not the main thread, or not Unix): the caller may use :meth:`trigger`."""
        loop = asyncio.get_running_loop()
        try:
            loop.add_signal_handler(signal.SIGHUP, self.trigger)
        except (RuntimeError, ValueError, NotImplementedError, AttributeError):
            return False
        self._sighup = True
        return True

    async def stop(self) -> None:
        if self._sighup and self._loop is not None:
            with contextlib.suppress(RuntimeError, ValueError):
                self._loop.remove_signal_handler(signal.SIGHUP)
            self._sighup = False
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class Retirer:
    """Closes what a reload replaced once the calls already running on it had time to
    finish (``grace`` seconds), or at once when the service stops."""

    def __init__(self, grace: float) -> None:
        self.grace = grace
        self._pending: dict[asyncio.Task[None], Callable[[], Awaitable[None]]] = {}

    def retire(self, aclose: Callable[[], Awaitable[None]]) -> None:
        async def later() -> None:
            await asyncio.sleep(self.grace)
            await _quietly(aclose)

        task = asyncio.create_task(later(), name="config-retire")
        self._pending[task] = aclose
        task.add_done_callback(lambda t: self._pending.pop(t, None))

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def aclose(self) -> None:
        """Close everything still waiting, now."""
        pending, self._pending = dict(self._pending), {}
        for task, aclose in pending.items():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await _quietly(aclose)


async def _quietly(aclose: Callable[[], Awaitable[None]]) -> None:
    try:
        await aclose()
    except Exception as exc:
        log.warning("closing a replaced call path failed: %s: %s", type(exc).__name__, exc)

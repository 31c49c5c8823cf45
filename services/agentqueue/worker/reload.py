"""Reload a worker's call path when the configuration file changes, or on SIGHUP.

Tasks run on Dramatiq's event-loop thread and take ``runner.chain`` afresh for every
LLM call, so the watcher runs on that same loop and swaps the runner's pipeline (and the
agents' runtime: catalog, token counts) in one step: the next call uses the new one,
a call already running finishes on the old one, which is closed after
:data:`GRACE_SECONDS`. An invalid new file is one log line; the running one stays.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import signal
from collections.abc import Callable

import dramatiq.asyncio

from agentqueue.core.calls import observe
from agentqueue.core.calls.factory import build_pipeline, configure_budgets
from agentqueue.core.config.schema import AgentQueueConfig
from agentqueue.core.config.watch import ConfigWatcher, Retirer
from agentqueue.core.llm.breaker import CircuitBreaker
from agentqueue.core.tasks.webhook_delivery import WebhookSender
from agentqueue.worker.agents.runtime import AgentRuntime
from agentqueue.worker.runner import TaskRunner
from agentqueue.worker.settings import WorkerSettings

log = logging.getLogger(__name__)

#: Seconds a replaced pipeline stays open for the calls already running on it.
GRACE_SECONDS = 600.0


def reloader(
    settings: WorkerSettings,
    runner: TaskRunner,
    sender: WebhookSender | None = None,
    *,
    grace: float = GRACE_SECONDS,
) -> tuple[ConfigWatcher, Retirer]:
    """The watcher of ``settings.config_file`` that swaps ``runner``'s pipeline (and
    ``sender``'s webhook policy), and what closes replaced pipelines. Run the watcher on
    the loop the runner's calls run on."""
    assert settings.config_file, "only with a configuration file"
    retirer = Retirer(grace)

    async def on_change(_config: AgentQueueConfig) -> None:
        fresh = settings.reloaded()
        await configure_budgets(fresh, runner.store.redis)
        pipeline = build_pipeline(fresh, runner.store.redis, max_wait=fresh.limiter_max_wait)
        runtime = AgentRuntime.for_completer(pipeline)
        old = runner.chain
        runner.chain, runner.runtime = pipeline, runtime
        observe.forget_breakers(pipeline.chain.breakers, _breakers(old))  # dropped ones
        if sender is not None:
            sender.policy = dataclasses.replace(
                sender.policy,
                allow_private=fresh.webhook_allow_private,
                allow_http=fresh.webhook_allow_http,
            )
        close = getattr(old, "aclose", None)
        if close is not None:
            retirer.retire(close)

    watcher = ConfigWatcher(settings.config_file, on_change, current=settings.file_config())
    return watcher, retirer


def _breakers(completer: object) -> dict[str, CircuitBreaker]:
    """The breakers of a runner's completer: a pipeline's chain's, or a bare chain's."""
    chain = getattr(completer, "chain", completer)
    breakers: dict[str, CircuitBreaker] = getattr(chain, "breakers", {})
    return breakers


def start_reloading(
    settings: WorkerSettings, runner: TaskRunner, sender: WebhookSender | None = None
) -> Callable[[], None]:
    """Watch the file on Dramatiq's event loop (the worker must have started) and reload
    on SIGHUP (call from the main thread); return what stops it. No file: nothing."""
    thread = dramatiq.asyncio.get_event_loop_thread()
    if not settings.config_file or thread is None:
        return lambda: None
    loop = thread.loop
    watcher, retirer = reloader(settings, runner, sender)
    running = asyncio.run_coroutine_threadsafe(watcher.run(), loop)
    signal.signal(signal.SIGHUP, lambda _signum, _frame: watcher.trigger())
    log.info("watching %s (reloaded on change and on SIGHUP)", settings.config_file)

    def stop() -> None:
        signal.signal(signal.SIGHUP, signal.SIG_IGN)  # draining: a reload is moot
        running.cancel()
        if loop.is_running():
            try:
                asyncio.run_coroutine_threadsafe(retirer.aclose(), loop).result(timeout=10)
            except Exception as exc:
                log.warning("closing replaced pipelines failed: %s", type(exc).__name__)

    return stop

"""``python -m agentqueue.worker``: consume one priority queue until SIGTERM.

Shutdown drains: on SIGTERM or SIGINT the consumers stop fetching, prefetched messages
go back to the queue, and running tasks get ``shutdown_timeout`` seconds to finish.
A task still running after that is not lost: its message is unacked and is redelivered
once this worker's heartbeat expires. A reconciler thread (``worker/reconcile.py``)
requeues any task whose message was lost, this worker's or another's.
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

import dramatiq

from agentqueue.core.base.logs import configure_logging
from agentqueue.core.base.redisconn import async_redis
from agentqueue.core.calls.factory import build_pipeline, configure_budgets_now
from agentqueue.core.calls.registry import provider_configs
from agentqueue.core.llm.sdk_warmup import warm_sdks
from agentqueue.core.llm.tokenizers import preload
from agentqueue.core.queues.broker import make_broker
from agentqueue.core.settings import parse_service_args
from agentqueue.core.tasks.store import TaskStore
from agentqueue.core.tasks.webhook_delivery import DeliveryPolicy, WebhookSender
from agentqueue.core.telemetry.tracing import setup_tracing
from agentqueue.worker.actors import (
    register_deliver_webhook,
    register_run_task,
    webhook_enqueuer,
)
from agentqueue.worker.agents import known_kinds as agent_kinds
from agentqueue.worker.batches import build_collector, start_batch_loop
from agentqueue.worker.metrics import known_kinds, serve_metrics
from agentqueue.worker.reconcile import start_reconciler
from agentqueue.worker.reload import start_reloading
from agentqueue.worker.runner import TaskRunner
from agentqueue.worker.settings import WorkerSettings
from agentqueue.worker.shutdown import CloseInLoop

log = logging.getLogger("agentqueue.worker")


def build_runner(settings: WorkerSettings) -> TaskRunner:
    """The runner of this worker's tasks: the task store and the call pipeline (cache,
    then the shared limiter and the providers) on one Redis pool."""
    # a task's steps run in parallel (map_reduce: up to max_parallel), each with its cache,
    # budget and record round trips: room for several per thread, and a pool wait that
    # is backpressure (a burst queues for a connection) rather than a failed task
    redis = async_redis(settings, max_connections=max(64, settings.threads * 4), timeout=30.0)
    preload()  # the token counter's encoding now, not in the first task's call
    warm_sdks()  # and the SDKs' first error and stream, not in an outage's first second
    return TaskRunner(
        TaskStore(redis, ttl=settings.task_ttl),
        build_pipeline(settings, redis, max_wait=settings.limiter_max_wait),
        backoff=settings.retry_backoff,
        backoff_max=settings.retry_backoff_max,
    )


async def close_pipeline(runner: TaskRunner) -> None:
    """Close the pipeline the runner uses now (a reload may have replaced the first)."""
    close = getattr(runner.chain, "aclose", None)
    if close is not None:
        await close()


def build_webhook_sender(settings: WorkerSettings, store: TaskStore) -> WebhookSender:
    if settings.webhook_secret is None:
        log.warning(
            "AGENTQUEUE_WEBHOOK_SECRET is not set: tasks with a webhook_url will record "
            "their delivery as failed (webhooks are never sent unsigned)"
        )
    policy = DeliveryPolicy(
        max_attempts=settings.webhook_max_attempts,
        timeout=settings.webhook_timeout,
        backoff=settings.webhook_backoff,
        backoff_max=settings.webhook_backoff_max,
        allow_private=settings.webhook_allow_private,
        allow_http=settings.webhook_allow_http,
    )
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    return WebhookSender(store, secret, policy)


def main() -> None:
    parse_service_args("python -m agentqueue.worker", __doc__, WorkerSettings)
    settings = WorkerSettings()
    configure_logging(
        f"worker:{settings.queue.value}", level=settings.log_level, fmt=settings.log_format
    )
    setup_tracing("agentqueue-worker", settings)  # opt-in: OTLP export (docs/observability.md)
    if settings.config_file:  # SIGHUP reloads once consuming; never ends the process
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    broker = make_broker(
        settings,
        heartbeat_timeout_ms=settings.heartbeat_timeout_ms,
        maintenance_chance=settings.maintenance_chance,
    )
    dramatiq.set_broker(broker)
    configure_budgets_now(settings)  # with a limiter service, it owns the configuration
    runner = build_runner(settings)
    runner.notify = webhook_enqueuer(broker)
    if settings.batch_api:  # the batch path: completion tasks go to provider batches
        runner.batches = build_collector(settings, runner.store)
    sender = build_webhook_sender(settings, runner.store)
    register_run_task(broker, settings, runner)
    broker.add_middleware(CloseInLoop(lambda: close_pipeline(runner)))
    register_deliver_webhook(broker, settings, sender)
    known_kinds(agent_kinds(), settings.queue.value)  # task counters at zero
    serve_metrics(settings.metrics_host, settings.metrics_port)  # 127.0.0.1:9100 by default

    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s: draining", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    worker = dramatiq.Worker(
        broker,
        queues={settings.queue.value},
        worker_threads=settings.threads,
        worker_timeout=settings.poll_interval_ms,
    )
    worker.start()
    stop_reloading = start_reloading(settings, runner, sender)  # AGENTQUEUE_CONFIG, SIGHUP
    stop_reconciler = start_reconciler(settings, broker, runner.notify)
    stop_batches = start_batch_loop(settings, broker, runner.notify)  # AGENTQUEUE_BATCH_API
    providers = ", ".join(
        f"{c.name}{' (simulated)' if c.simulated else ''}" for c in provider_configs(settings)
    )
    log.info(
        "consuming queue %r with %d threads; providers: %s",
        settings.queue.value,
        settings.threads,
        providers or "none",
    )
    stop.wait()
    stop_reloading()
    stop_reconciler()
    stop_batches()
    worker.stop(timeout=int(settings.shutdown_timeout * 1000))
    broker.close()
    log.info("stopped")


if __name__ == "__main__":
    main()

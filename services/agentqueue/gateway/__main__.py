"""``python -m agentqueue.gateway``: serve the HTTP API with uvicorn.

uvicorn runs with httptools and uvloop (``uvicorn[standard]``; its default ``auto``
picks them) and no access log. The process's garbage collector is tuned once the app
has started (:func:`tune_gc`): with Python's defaults, collections took a quarter of
the gateway's CPU at 64 concurrent submissions (``bench/gateway_submit.py``).
"""

from __future__ import annotations

import gc
import logging
import signal

import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentqueue.core.base.logs import configure_logging
from agentqueue.core.settings import parse_service_args
from agentqueue.core.telemetry.exposition import prepare_multiproc_dir, remove_multiproc_dir
from agentqueue.core.telemetry.tracing import setup_tracing
from agentqueue.gateway.app import create_app
from agentqueue.gateway.settings import GatewaySettings

#: Allocations between two young-generation collections (Python's default is 700).
GC_GEN0_THRESHOLD = 10_000


def tune_gc() -> None:
    """Freeze what start-up built and collect the young generation less often.

    Everything alive once the app has started (modules, the provider SDKs, pydantic's
    schemas, the budgets: about 300,000 objects) moves to the permanent generation, which
    no collection scans again; a request's garbage is mostly freed by reference counting
    and the rest waits for 10,000 allocations instead of 700. Measured over 12,000
    submissions at 64 clients on the 2-core development machine, loaded by other test
    runs: collections took 25% of the gateway's CPU (4.7 s of 18.3 s) with Python's
    defaults, 6-7% (0.9-1.1 s of 15-16 s) so tuned.
    """
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GC_GEN0_THRESHOLD, gen1, gen2)


class TuneGcAfterStartup:
    """The app, with :func:`tune_gc` run when its lifespan start-up has completed (the
    Redis clients, the SDK clients and the budgets are built in it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def send_tuned(message: Message) -> None:
            if message["type"] == "lifespan.startup.complete":
                tune_gc()
            await send(message)

        await self.app(scope, receive, send_tuned)


def serving_app() -> ASGIApp:
    """The app as this process serves it (also uvicorn's factory, one per worker)."""
    settings = GatewaySettings()
    # a spawned worker process starts with Python's logging defaults: ours, as the parent's
    configure_logging("gateway", level=settings.log_level, fmt=settings.log_format)
    setup_tracing("agentqueue-gateway", settings)  # per process: an exporter's thread
    return TuneGcAfterStartup(create_app(settings))


def main() -> None:
    parse_service_args("python -m agentqueue.gateway", __doc__, GatewaySettings)
    settings = GatewaySettings()
    configure_logging("gateway", level=settings.log_level, fmt=settings.log_format)
    if settings.config_file:
        # SIGHUP reloads the file once the app has started (gateway/reload.py); until
        # then it must not end the process, as it would by default
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    if settings.auth_disabled:
        logging.getLogger("agentqueue.gateway").warning(
            "authentication is DISABLED (AGENTQUEUE_AUTH_DISABLED): every caller is tenant 'local'"
        )
    if settings.workers > 1:
        # each process builds its own app from the same environment; their metrics are
        # summed from files in a private directory (core/telemetry/exposition.py), set
        # in the environment before uvicorn spawns them
        metrics_dir = prepare_multiproc_dir("gateway")
        try:
            uvicorn.run(
                "agentqueue.gateway.__main__:serving_app",
                factory=True,
                workers=settings.workers,
                host=settings.host,
                port=settings.port,
                log_config=None,
                access_log=False,
                timeout_keep_alive=settings.keep_alive_seconds,
            )
        finally:
            remove_multiproc_dir(metrics_dir)
        return
    setup_tracing("agentqueue-gateway", settings)  # opt-in: OTLP export (docs/observability.md)
    uvicorn.run(
        TuneGcAfterStartup(create_app(settings)),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        timeout_keep_alive=settings.keep_alive_seconds,
    )


if __name__ == "__main__":
    main()

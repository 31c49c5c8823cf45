"""``python -m agentqueue.gateway``: serve the HTTP API with uvicorn."""

from __future__ import annotations

import logging

import uvicorn

from agentqueue.core.base.logs import configure_logging
from agentqueue.core.settings import parse_service_args
from agentqueue.gateway.app import create_app
from agentqueue.gateway.settings import GatewaySettings


def main() -> None:
    parse_service_args("python -m agentqueue.gateway", __doc__, GatewaySettings)
    settings = GatewaySettings()
    configure_logging("gateway", level=settings.log_level, fmt=settings.log_format)
    if settings.auth_disabled:
        logging.getLogger("agentqueue.gateway").warning(
            "authentication is DISABLED (AGENTQUEUE_AUTH_DISABLED): every caller is tenant 'local'"
        )
    if settings.workers > 1:
        # each process builds its own app from the same environment
        uvicorn.run(
            "agentqueue.gateway.app:create_app",
            factory=True,
            workers=settings.workers,
            host=settings.host,
            port=settings.port,
            log_config=None,
            access_log=False,
        )
        return
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
    )


if __name__ == "__main__":
    main()

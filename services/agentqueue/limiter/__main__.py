"""``python -m agentqueue.limiter``: serve the limiter API with uvicorn."""

from __future__ import annotations

import uvicorn

from agentqueue.core.base.logs import configure_logging
from agentqueue.core.settings import parse_service_args
from agentqueue.limiter.app import create_app
from agentqueue.limiter.settings import LimiterSettings


def main() -> None:
    parse_service_args("python -m agentqueue.limiter", __doc__, LimiterSettings)
    settings = LimiterSettings()
    configure_logging("limiter", level=settings.log_level, fmt=settings.log_format)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        timeout_keep_alive=settings.keep_alive_seconds,
    )


if __name__ == "__main__":
    main()

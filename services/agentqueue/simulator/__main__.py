"""``python -m agentqueue.simulator``: serve the simulated providers with uvicorn."""

from __future__ import annotations

import logging

import uvicorn

from agentqueue.core.base.logs import configure_logging
from agentqueue.core.settings import parse_service_args
from agentqueue.simulator.app import create_app
from agentqueue.simulator.settings import SimulatorSettings


def main() -> None:
    parse_service_args("python -m agentqueue.simulator", __doc__, SimulatorSettings)
    settings = SimulatorSettings()
    configure_logging("simulator")
    logging.getLogger("agentqueue.simulator").info(
        "simulating anthropic, openai and google on http://%s:%d (rpm %d, tpm %d per key, "
        "minute %.0fs, speed %.2f)",
        settings.host,
        settings.port,
        settings.rpm,
        settings.tpm,
        settings.minute_seconds,
        settings.speed,
    )
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        # Providers keep idle connections open for about a minute; uvicorn's 5 s default
        # makes pooled SDK connections race the server's close after any pause.
        timeout_keep_alive=75,
    )


if __name__ == "__main__":
    main()

"""``python -m agentqueue.operator``: run the AgentQueue operator until SIGTERM."""

from __future__ import annotations

import asyncio

from prometheus_client import start_http_server

from agentqueue.core.base.logs import configure_logging
from agentqueue.core.settings import parse_service_args
from agentqueue.operator.runner import run_operator
from agentqueue.operator.settings import OperatorSettings


def main() -> None:
    parse_service_args("python -m agentqueue.operator", __doc__, OperatorSettings)
    settings = OperatorSettings()
    configure_logging("operator", level=settings.log_level, fmt=settings.log_format)
    if settings.operator_metrics_port:  # here, not in run_operator: tests run several
        start_http_server(settings.operator_metrics_port, addr=settings.operator_health_host)
    asyncio.run(run_operator(settings))


if __name__ == "__main__":
    main()

"""``python -m agentqueue.operator``: run the AgentQueue operator until SIGTERM."""

from __future__ import annotations

import asyncio

from agentqueue.core.base.logs import configure_logging
from agentqueue.core.settings import parse_service_args
from agentqueue.operator.runner import run_operator
from agentqueue.operator.settings import OperatorSettings


def main() -> None:
    parse_service_args("python -m agentqueue.operator", __doc__, OperatorSettings)
    settings = OperatorSettings()
    configure_logging("operator", level=settings.log_level, fmt=settings.log_format)
    asyncio.run(run_operator(settings))


if __name__ == "__main__":
    main()

"""What the services tell operators about themselves: Prometheus metrics (``metrics``)
and traces (``tracing``). Sits beside ``config``, below ``llm``: every layer above may
record into it, and it imports nothing of theirs."""

"""HTTP metrics and one access line per request, from one well-kept middleware.

Why prometheus-fastapi-instrumentator rather than our own: it resolves the route
template a request matched (``/v1/tasks/{task_id}``, never the raw path, whose ids would
make a series per task), the status actually sent and the duration including a stream's
body, and calls our instrumentations once the response has ended. Two are added:

- :func:`_record`: ``http_requests_total{handler,method,status}`` and
  ``http_request_duration_seconds{handler,method}`` (``gateway/metrics.py``);
- :func:`_access_line`: one line per request (uvicorn's own access log is off) with the
  method, route, path, status, duration in ms, the request id (``x-request-id``, set by
  ``gateway/tracing.py``) and the caller's tenant once its key was checked. A request
  the client got wrong (4xx) is INFO like any other, a 5xx WARNING (its cause is logged
  where it happened); probes and scrapes that succeed are DEBUG.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI
from prometheus_fastapi_instrumentator import Instrumentator
from prometheus_fastapi_instrumentator.metrics import Info

from agentqueue.gateway.metrics import HTTP_DURATION, HTTP_REQUESTS
from agentqueue.gateway.tracing import SCOPE_KEY as REQUEST_ID_KEY

log = logging.getLogger("agentqueue.access")
#: Routes whose successful requests are logged at DEBUG only (polled every few seconds).
QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})


def _record(info: Info) -> None:
    HTTP_REQUESTS.labels(info.modified_handler, info.method, info.modified_status).inc()
    HTTP_DURATION.labels(info.modified_handler, info.method).observe(info.modified_duration)


def _status(info: Info) -> int:
    return int(info.modified_status) if info.modified_status.isdigit() else 0


def _access_line(info: Info) -> None:
    status = _status(info)
    if status >= 500:
        level = logging.WARNING
    elif info.modified_handler in QUIET_ROUTES and status < 400:
        level = logging.DEBUG
    else:
        level = logging.INFO
    if not log.isEnabledFor(level):
        return
    scope = info.request.scope
    caller = scope.get("state", {}).get("caller")
    duration_ms = round(info.modified_duration * 1000, 1)
    log.log(
        level,
        "%s %s %d %.1fms",
        info.method,
        scope.get("path", ""),
        status,
        duration_ms,
        extra={
            "event": "http_request",
            "method": info.method,
            "route": info.modified_handler,
            "path": scope.get("path", ""),
            "status": status,
            "duration_ms": duration_ms,
            "request_id": scope.get(REQUEST_ID_KEY),
            "tenant": getattr(caller, "tenant", None),
            "client_error": 400 <= status < 500 or None,
        },
    )


def instrument(app: FastAPI) -> None:
    """Add the middleware (statuses exact, unmatched paths grouped as ``none``)."""
    Instrumentator(
        should_group_status_codes=False,
        should_group_untemplated=True,
    ).add(_record).add(_access_line).instrument(app)

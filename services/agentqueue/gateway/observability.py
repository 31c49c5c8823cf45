"""HTTP metrics and one access line per request, from one ASGI middleware.

Per request, once its response has ended (a stream: its last byte):

- ``http_requests_total{handler,method,status}`` and
  ``http_request_duration_seconds{handler,method}`` (``gateway/metrics.py``), where
  ``handler`` is the template of the route that served it (``/v1/tasks/{task_id}``,
  never the raw path, whose ids would make a series per task) and ``none`` when no
  route matched;
- one access line (uvicorn's own access log is off) with the method, route, path, status,
  duration in ms, the request id (``x-request-id``, set by ``gateway/tracing.py``) and the
  caller's tenant once its key was checked. A request the client got wrong (4xx) is INFO
  like any other, a 5xx WARNING (its cause is logged where it happened); probes and
  scrapes that succeed are DEBUG.

Why not prometheus-fastapi-instrumentator, which this replaced (same metric names and
labels): it finds the route by matching the request against every route of the app
before the app runs, and builds a ``Request``, a ``Response`` and an ``Info`` per request
to hand its callbacks; on the task submission path that was a tenth of the gateway's CPU
(py-spy, 64 clients). Starlette records the route it chose in the scope (``route``), so
reading it after the app ran costs a dictionary lookup.
"""

from __future__ import annotations

import logging
import time

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentqueue.gateway.metrics import HTTP_DURATION, HTTP_REQUESTS
from agentqueue.gateway.tracing import SCOPE_KEY as REQUEST_ID_KEY
from agentqueue.gateway.tracing import route_template

log = logging.getLogger("agentqueue.access")
#: Routes whose successful requests are logged at DEBUG only (polled every few seconds).
QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})
#: The handler label of a request no route matched (a 404 or 405 before any route).
UNMATCHED = "none"


def _level(route: str, status: int) -> int:
    if status >= 500:
        return logging.WARNING
    if route in QUIET_ROUTES and status < 400:
        return logging.DEBUG
    return logging.INFO


def _access_line(scope: Scope, route: str, status: int, duration_s: float) -> None:
    level = _level(route, status)
    if not log.isEnabledFor(level):
        return
    method, path = scope["method"], scope.get("path", "")
    caller = scope.get("state", {}).get("caller")
    duration_ms = round(duration_s * 1000, 1)
    log.log(
        level,
        "%s %s %d %.1fms",
        method,
        path,
        status,
        duration_ms,
        extra={
            "event": "http_request",
            "method": method,
            "route": route,
            "path": path,
            "status": status,
            "duration_ms": duration_ms,
            "request_id": scope.get(REQUEST_ID_KEY),
            "tenant": getattr(caller, "tenant", None),
            "client_error": 400 <= status < 500 or None,
        },
    )


class _Series:
    """Each label set's children, looked up once (``labels()`` takes a lock per call);
    as many as routes, methods and statuses combine to, unmatched paths being one ``none``."""

    def __init__(self, requests: Counter, duration: Histogram) -> None:
        self.requests = requests
        self.duration = duration
        self._counted: dict[tuple[str, str, int], Counter] = {}
        self._timed: dict[tuple[str, str], Histogram] = {}

    def record(self, route: str, method: str, status: int, duration_s: float) -> None:
        counted = self._counted.get((route, method, status))
        if counted is None:
            counted = self._counted[(route, method, status)] = self.requests.labels(
                route, method, str(status)
            )
        timed = self._timed.get((route, method))
        if timed is None:
            timed = self._timed[(route, method)] = self.duration.labels(route, method)
        counted.inc()
        timed.observe(duration_s)


class HttpObservability:
    """ASGI middleware; see the module docstring. Wired inside ``RequestTracing`` (the
    request id is known) and outside everything that can answer (the 413 of the body
    limit, the compat error envelopes), so every status the caller gets is counted."""

    def __init__(self, app: ASGIApp, series: _Series | None = None) -> None:
        self.app = app
        self.series = series or _Series(HTTP_REQUESTS, HTTP_DURATION)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the caller gets when the app raises before answering

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            duration = max(time.perf_counter() - started, 0.0)
            route = route_template(scope) or UNMATCHED
            self.series.record(route, scope["method"], status, duration)
            _access_line(scope, route, status, duration)


__all__ = ["QUIET_ROUTES", "UNMATCHED", "HttpObservability"]

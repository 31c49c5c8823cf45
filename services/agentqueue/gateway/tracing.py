"""Every request's ``x-request-id`` and, with tracing on, its server span.

Why one ASGI middleware of ours, outermost, rather than ``opentelemetry-instrumentation-
fastapi`` or FastAPI's own telemetry: the request id must be echoed on every answer —
the direct fast path of ``POST /v1/tasks`` (``api/direct.py``), the 413 of the body
limit, a 404 before any route — and the span must cost nothing when tracing is off; one
pass over the headers does both, and with tracing off the rest is skipped (no
OpenTelemetry call at all). The instrumentation packages would add a layer or two and
their own dependencies for the same span.

Per HTTP request:

- the request id: the client's ``x-request-id`` when sane (1-128 of ``[A-Za-z0-9._-]``),
  else a new one; current while the app runs (``current_request_id()`` in
  ``core/telemetry/tracing.py``, for log lines), added to the response's headers, kept in
  the scope (``agentqueue.request_id``) for the error handler that answers an unhandled
  exception outside this middleware (``api/errors.py``);
- with tracing on, a SERVER span continuing the client's ``traceparent`` /
  ``tracestate`` (or starting a trace), current while the app runs — a task submitted
  in it carries it to the worker, an interactive call's LLM-call spans are its children —
  named by the route's template once routing has chosen it (``POST /v1/tasks``,
  ``GET /v1/tasks/{task_id}``; the bare method when nothing matched), with the HTTP
  semantic conventions' attributes and status ERROR for a 5xx or an exception.
"""

from __future__ import annotations

from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentqueue.core.telemetry import tracing

#: Where the request id is kept in the ASGI scope.
SCOPE_KEY = "agentqueue.request_id"

_REQUEST_ID = b"x-request-id"
_PROPAGATED = (b"traceparent", b"tracestate", b"baggage")


def route_template(scope: Scope) -> str | None:
    """The template of the route that served the request, once routing chose one."""
    route = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    return path if isinstance(path, str) else None


class RequestTracing:
    """ASGI middleware; see the module docstring. Wired last in ``gateway/app.py``, so
    that it wraps every other middleware."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given: str | None = None
        carrier: dict[str, str] = {}
        for name, value in scope["headers"]:
            if name == _REQUEST_ID:
                given = value.decode("latin-1")
            elif name in _PROPAGATED:
                carrier[name.decode()] = value.decode("latin-1")
        request_id = given if given and tracing.sane_request_id(given) else tracing.new_request_id()
        scope[SCOPE_KEY] = request_id
        echoed = (_REQUEST_ID, request_id.encode())
        status: list[int] = []

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
                headers = [h for h in message.get("headers", ()) if h[0].lower() != _REQUEST_ID]
                message = {**message, "headers": [*headers, echoed]}
            await send(message)

        token = tracing.set_request_id(request_id)
        try:
            tracer = tracing.tracer()
            if tracer is None:
                await self.app(scope, receive, send_with_id)
                return
            await self._traced(tracer, scope, receive, send_with_id, carrier, status)
        finally:
            tracing.reset_request_id(token)

    async def _traced(
        self,
        tracer: trace.Tracer,
        scope: Scope,
        receive: Receive,
        send: Send,
        carrier: dict[str, str],
        status: list[int],
    ) -> None:
        method = scope.get("method", "HTTP")
        attributes: dict[str, Any] = {
            "http.request.method": method,
            "url.path": scope.get("path", ""),
            "url.scheme": scope.get("scheme", "http"),
            "agentqueue.request_id": scope[SCOPE_KEY],
        }
        span = tracer.start_span(
            method, context=tracing.extract(carrier), kind=SpanKind.SERVER, attributes=attributes
        )
        try:
            with trace.use_span(span, record_exception=True, set_status_on_exception=True):
                await self.app(scope, receive, send)
        finally:
            route = route_template(scope)
            if route is not None:
                span.update_name(f"{method} {route}")
                span.set_attribute("http.route", route)
            if status:
                span.set_attribute("http.response.status_code", status[0])
                if status[0] >= 500:
                    span.set_attribute("error.type", str(status[0]))
                    span.set_status(Status(StatusCode.ERROR))
            span.end()


__all__ = ["SCOPE_KEY", "RequestTracing", "route_template"]

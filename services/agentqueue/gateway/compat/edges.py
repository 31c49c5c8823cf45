"""Errors no compatible route raises, in the caller's API's envelope.

:class:`~agentqueue.gateway.compat.openai_errors.OpenAIRoute` and
:class:`~agentqueue.gateway.compat.anthropic_errors.AnthropicRoute` answer every error of
their own routes as OpenAI and Anthropic do. Three refusals happen before any route runs,
and the gateway answers them in its own envelope: an oversized body (the
``BodySizeLimit`` middleware's 413), an unknown path (404) and a known path asked with
the wrong method (405). An SDK maps them by status, but code reading ``error.type`` /
``error.param`` (OpenAI) or ``type: "error"`` (Anthropic) would find another shape.

:class:`CompatErrorEnvelopes`, the outermost middleware, rewrites exactly those answers:
a 404, 405 or 413 whose body is the gateway's own envelope (``{"error": {"type",
"message"}}``, which no compatible route sends), for a request that is the compatible
APIs' business:

* a path one of their routes serves (``/v1/chat/completions``, ``/v1/messages``, …):
  that route's API (a 413 on ``/v1/messages`` is Anthropic's ``request_too_large``);
* a path nothing serves: Anthropic's envelope (``not_found_error``) when the request
  carries ``anthropic-version`` or ``x-api-key``, or the path is under ``/v1/messages``;
  OpenAI's (``Invalid URL (POST /v1/nope)``, as OpenAI says it) otherwise.

A path one of the gateway's own routes serves (``/v1/tasks/…``, ``/v1/usage``, health),
or an unknown one in their sections (``/v1/tasks/<id>/nothing``), keeps the gateway's
envelope, whatever the status. Wired in ``gateway/app.py``, after
``BodySizeLimit`` so that it wraps it::

    app.add_middleware(CompatErrorEnvelopes)
"""

from __future__ import annotations

import json
from typing import Any, Literal

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentqueue.gateway.compat.anthropic_errors import AnthropicRoute
from agentqueue.gateway.compat.openai_errors import OpenAIRoute

Api = Literal["openai", "anthropic"]

#: Statuses answered before a route runs (body limit, routing).
EDGE_STATUSES = frozenset({404, 405, 413})


def _owner(route: BaseRoute) -> Api | Literal["native"]:
    """Whose route this is: a compatible router's (its ``route_class``; FastAPI keeps an
    included router whole, or flattens it into its routes, by version) or the gateway's."""
    route_class = getattr(getattr(route, "original_router", None), "route_class", type(route))
    if isinstance(route_class, type) and issubclass(route_class, OpenAIRoute):
        return "openai"
    if isinstance(route_class, type) and issubclass(route_class, AnthropicRoute):
        return "anthropic"
    return "native"


def _route_api(routes: list[BaseRoute], scope: Scope) -> Api | Literal["native"] | None:
    """Whose route serves the request's path, with any method: a compatible API's, the
    gateway's own ("native"), or nobody's (None). A path nothing serves belongs to whoever
    serves its deepest ancestor (``/v1/tasks/<id>/nothing``: the gateway, as
    ``/v1/tasks/<id>``; ``/v1/messages/batches``: Anthropic's, as ``/v1/messages``)."""
    segments = str(scope.get("path", "")).rstrip("/").split("/")
    while len(segments) > 2:  # down to /v1/<section>
        probe = {**scope, "type": "http", "path": "/".join(segments)}
        for route in routes:
            match, _ = route.matches(probe)
            if match is not Match.NONE:
                return _owner(route)
        segments.pop()
    return None


def _header(scope: Scope, name: bytes) -> bool:
    return any(key == name for key, _ in scope.get("headers") or ())


def api_of(scope: Scope) -> Api | None:
    """The compatible API whose envelope an edge refusal of this request is answered in,
    or None to keep the gateway's (see the module docstring)."""
    app = scope.get("app")
    owner = _route_api(list(getattr(app, "routes", [])), scope)
    if owner == "native":
        return None
    if owner is not None:
        return owner
    path: str = scope.get("path", "")
    if not path.startswith("/v1/"):
        return None
    anthropic = path.startswith("/v1/messages") or any(
        _header(scope, h) for h in (b"anthropic-version", b"x-api-key")
    )
    return "anthropic" if anthropic else "openai"


def _gateway_envelope(body: bytes) -> dict[str, Any] | None:
    """The gateway's own error, if ``body`` is one: ``{"error": {"type", "message"}}``."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict) or set(data) != {"error"}:
        return None
    error = data["error"]
    if not isinstance(error, dict) or "param" in error or "code" in error:
        return None  # OpenAI's envelope: a compatible route answered
    if not isinstance(error.get("message"), str):
        return None
    return error


_ANTHROPIC_TYPES = {404: "not_found_error", 405: "invalid_request_error", 413: "request_too_large"}


def rewrite(api: Api, status: int, scope: Scope, message: str) -> dict[str, Any]:
    """The edge refusal's body in ``api``'s envelope."""
    method, path = scope.get("method", ""), scope.get("path", "")
    if status == 404:
        message = f"Invalid URL ({method} {path})" if api == "openai" else f"Not found: {path}"
    elif status == 405:
        message = f"Method {method} is not allowed on {path}"
    if api == "anthropic":
        return {"type": "error", "error": {"type": _ANTHROPIC_TYPES[status], "message": message}}
    code = {413: "request_too_large", 404: "unknown_url", 405: "method_not_allowed"}[status]
    return {
        "error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}
    }


class CompatErrorEnvelopes:
    """ASGI middleware: the edge refusals of compatible requests in their API's envelope."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope.get("path", "").startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        held: Message | None = None  # an edge status's start, until its body is read
        chunks: list[bytes] = []

        async def send_rewritten(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start" and message["status"] in EDGE_STATUSES:
                held = message
                return
            if held is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            start, body = held, b"".join(chunks)
            held = None
            error = _gateway_envelope(body)
            api = api_of(scope) if error is not None else None
            if error is not None and api is not None:
                body = json.dumps(rewrite(api, start["status"], scope, error["message"])).encode()
                headers = [
                    (k, v)
                    for k, v in start.get("headers", [])
                    if k.lower() not in (b"content-length", b"content-type")
                ]
                headers += [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ]
                start = {**start, "headers": headers}
            await send(start)
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, send_rewritten)

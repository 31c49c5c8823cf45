"""A route with a direct handler for its common request: the submission hot path.

FastAPI solves an endpoint's parameters on every request through its dependency
machinery — the body parsed to Python objects and then validated, each header and
security scheme a dependency of its own. For ``POST /v1/tasks`` that machinery was about
a quarter of the gateway's CPU per submission, as much as the Redis round trip that does
the work (py-spy, 2026-11-30); without it, 0.53 → 0.41 ms of CPU a task and 1,945 →
2,558 submissions/s at 64 clients (``bench/gateway_submit.py``, back to back).

A :func:`direct_route` keeps the endpoint declared the FastAPI way: its signature is what
the OpenAPI document shows, and FastAPI's own handler stays behind it. A request goes
first to ``direct``, which reads what the endpoint needs itself (the body validated
straight from its JSON bytes, the caller by the same authentication as every route) and
calls the endpoint, or returns None *before calling it* when the request is anything but
well-formed; FastAPI's handler then serves that request from the start, so every
validation error is FastAPI's own, field named, in its usual order (malformed JSON, then
authentication, then the fields). With dependency overrides set on the app (tests),
every request goes to FastAPI's handler, which applies them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

#: Serves a request, or returns None (having called nothing) to leave it to FastAPI.
DirectHandler = Callable[[Request], Awaitable[Response | None]]


def direct_route(direct: DirectHandler) -> type[APIRoute]:
    """An :class:`APIRoute` class whose requests try ``direct`` before FastAPI's handler
    (``APIRouter.add_api_route(..., route_class_override=direct_route(handler))``)."""

    class DirectRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            standard = super().get_route_handler()
            if self.dependencies:  # route- or router-level ones: only FastAPI runs them
                return standard

            async def handler(request: Request) -> Response:
                if not request.app.dependency_overrides:
                    response = await direct(request)
                    if response is not None:
                        return response
                return await standard(request)

            return handler

    return DirectRoute

"""``Server-Timing`` on every answer: where the gateway spent the time before it.

Why a header rather than only histograms: a histogram says that some first tokens were
slow, the header says why *this* one was (``budget;dur=412.0`` or ``failed;dur=380.2``),
read by the caller who saw it, a benchmark sorting its worst turns, or a browser's
developer tools. It carries durations only — no provider, model or tenant — so it tells a
caller nothing about anyone else's traffic.

A pure ASGI middleware: it starts the request's :class:`~agentqueue.core.telemetry.timing.
Timing` (current while the app runs; the call's code adds phases) and writes the header
when the response starts — for a stream, at its first byte, so ``total`` is the gateway's
share of the time to first token.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentqueue.core.telemetry.timing import Timing, current_timing

_HEADER = b"server-timing"


class ServerTiming:
    """ASGI middleware; see the module docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        timing = Timing()

        async def send_with_timing(message: Message) -> None:
            if message["type"] == "http.response.start":
                header = (_HEADER, timing.header().encode())
                message = {**message, "headers": [*message.get("headers", ()), header]}
            await send(message)

        token = current_timing.set(timing)
        try:
            await self.app(scope, receive, send_with_timing)
        finally:
            current_timing.reset(token)


__all__ = ["ServerTiming"]

"""Streams passed through: the provider's own SSE bytes, forwarded to a caller of its protocol.

When an OpenAI Chat Completions caller is answered by an OpenAI-protocol provider, or an
Anthropic Messages caller by Claude, the provider's stream already is the answer in the
caller's protocol: the gateway forwards its bytes as they arrive
(:meth:`FallbackChain.stream_passthrough`) instead of parsing every chunk through the SDK
and encoding it again, which was half of the gateway's CPU per stream. Everything around
the bytes is as on the translated path: the cache (a hit is still streamed by the
protocol's encoder), the limiter's admit before and settle after (with the usage read
from the buffered bytes once the stream has ended), fallback before the first token (the
opening events are held back until it; the next provider may speak another protocol, and
is then translated), the tenant's usage and cost.

Where protocols differ, or ``AGENTQUEUE_STREAM_PASSTHROUGH=false``, streams are
translated as before. The ``x-agentqueue-stream`` header says which path answered
(``passthrough``, ``translated`` or ``cache``), as does the
``agentqueue_gateway_streams_total`` counter.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable

from fastapi.responses import StreamingResponse
from prometheus_client import Counter

from agentqueue.gateway.compat.calls import StartedStream

log = logging.getLogger(__name__)

STREAMS = Counter(
    "agentqueue_gateway_streams_total",
    "Streamed compatible calls by how the answer reached the caller",
    ["path"],
)
_COUNTED = {path: STREAMS.labels(path) for path in ("passthrough", "translated", "cache")}


async def relay(
    started: StartedStream, error_event: Callable[[Exception], bytes]
) -> AsyncIterator[bytes]:
    """The provider's bytes as they come (its final answer, which the pipeline has
    accounted and stored by the time the iteration ends, left out). A failure after the
    first byte ends the stream with the protocol's error event, unless the provider's own
    was forwarded already. One generator between the provider's reads and uvicorn."""
    last = b""
    try:
        if isinstance(started.first, bytes):
            last = started.first
            yield started.first
        async for event in started.rest:
            if isinstance(event, bytes):
                last = event or last
                yield event
    except Exception as exc:  # after the first byte: the 200 is sent
        log.warning("passed-through stream failed after its first byte: %s", exc)
        if not getattr(exc, "forwarded", False):
            # a read may have ended inside an event: close it, or the client's parser
            # reads our error event as the rest of that one
            ended = not last or last.endswith((b"\n\n", b"\r\n\r\n"))
            yield (b"" if ended else b"\n\n") + error_event(exc)
    finally:
        await started.aclose()


def sse_response(started: StartedStream, body: AsyncIterator[bytes]) -> StreamingResponse:
    """The streamed answer, saying which path produced it (header and counter)."""
    path = started.path
    _COUNTED[path].inc()
    return StreamingResponse(
        body,
        media_type="text/event-stream",
        headers={"cache-control": "no-cache", "x-agentqueue-stream": path},
    )

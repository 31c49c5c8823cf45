"""The pass-through relay's framing when the provider breaks mid-stream."""

from __future__ import annotations

from collections.abc import AsyncIterator

from agentqueue.core.base.errors import ProviderServerError
from agentqueue.gateway.compat.calls import StartedStream
from agentqueue.gateway.compat.passthrough import relay


async def _broken(*reads: bytes) -> AsyncIterator[bytes]:
    for read in reads:
        yield read
    raise ProviderServerError("connection reset", provider="openai", model="gpt-4.1")


async def _relayed(first: bytes, *reads: bytes) -> bytes:
    started = StartedStream(first, _broken(*reads))
    return b"".join([b async for b in relay(started, lambda exc: b'data: {"error": 1}\n\n')])


async def test_an_error_after_a_read_ending_inside_an_event_starts_a_new_event() -> None:
    out = await _relayed(b'data: {"a": 1}\n\n', b'data: {"partial')
    assert out.endswith(b'data: {"partial\n\ndata: {"error": 1}\n\n')


async def test_an_error_after_a_whole_event_adds_no_blank_line() -> None:
    out = await _relayed(b'data: {"a": 1}\n\n', b'data: {"b": 2}\n\n')
    assert out == b'data: {"a": 1}\n\ndata: {"b": 2}\n\ndata: {"error": 1}\n\n'

"""Time as a real model spends it: a wait for the first token, then one per token."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from agentqueue.simulator.engine import Admission


async def whole_answer_delay(admission: Admission) -> None:
    b = admission.behaviour
    delay = b.first_token_s + b.per_token_s * admission.output_tokens
    if delay > 0:
        await asyncio.sleep(delay)


async def paced(admission: Admission, chunk_tokens: int = 4) -> AsyncIterator[tuple[str, int]]:
    """The reply in chunks of ``chunk_tokens`` tokens, each after its tokens' time.

    Yields the chunk's text and how many tokens it holds.
    """
    b = admission.behaviour
    if b.first_token_s > 0:
        await asyncio.sleep(b.first_token_s)
    reply = admission.reply
    for i in range(0, len(reply), chunk_tokens):
        piece = reply[i : i + chunk_tokens]
        if i and b.per_token_s > 0:
            await asyncio.sleep(b.per_token_s * len(piece))
        yield "".join(piece), len(piece)


async def paced_calls(
    admission: Admission, spans: list[int], chunk_tokens: int = 4
) -> AsyncIterator[tuple[int, str, int]]:
    """A reply made of several tool calls' arguments (``spans``: how many pieces each
    takes), paced as :func:`paced`, in chunks that never straddle two calls.

    Yields the call's index, the chunk's text and how many tokens it holds.
    """
    b = admission.behaviour
    if b.first_token_s > 0:
        await asyncio.sleep(b.first_token_s)
    reply = admission.reply
    start = 0
    for k, span in enumerate(spans):
        end = start + span
        for i in range(start, end, chunk_tokens):
            piece = reply[i : min(i + chunk_tokens, end)]
            if i and b.per_token_s > 0:
                await asyncio.sleep(b.per_token_s * len(piece))
            yield k, "".join(piece), len(piece)
        start = end

"""Reading an Anthropic Messages stream as a client does: first token, model, usage."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass


@dataclass
class StreamRead:
    ttft: float | None = None
    model: str = ""
    text: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    error: str = ""


async def read_messages_stream(lines: AsyncIterator[str], sent: float) -> StreamRead:
    """Consume ``lines`` (an SSE body) to its end; ``sent``: when the request left."""
    read = StreamRead()
    parts: list[str] = []
    async for line in lines:
        if not line.startswith("data:"):
            continue
        event = json.loads(line[5:])
        kind = event.get("type")
        if kind == "message_start":
            message = event["message"]
            read.model = message.get("model", "")
            read.input_tokens = message.get("usage", {}).get("input_tokens", 0)
        elif kind == "content_block_delta":
            if read.ttft is None:
                read.ttft = time.perf_counter() - sent
            parts.append(event["delta"].get("text", ""))
        elif kind == "message_delta":  # a translated stream's input count comes here
            usage = event.get("usage", {})
            read.output_tokens = usage.get("output_tokens", read.output_tokens)
            read.input_tokens = usage.get("input_tokens") or read.input_tokens
        elif kind == "error":
            read.error = str(event.get("error", {}).get("type", "error"))
    read.text = "".join(parts)
    if not read.error and read.ttft is None:
        read.error = "no content"
    return read

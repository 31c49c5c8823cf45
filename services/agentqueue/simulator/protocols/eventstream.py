"""The AWS event-stream framing Bedrock streams in (``application/vnd.amazon.eventstream``).

Each message: total length and headers length (big-endian uint32), the CRC32 of those 8
bytes, the headers (name length, name, type 7 = string, value length, value), the payload,
then the CRC32 of everything before it. The Anthropic SDK decodes it with botocore's
``EventStreamBuffer``, which checks both CRCs. Only string headers are written: all a
Bedrock response stream uses.
"""

from __future__ import annotations

import base64
import json
import struct
import zlib
from collections.abc import Mapping

_STRING = 7


def _header(name: str, value: str) -> bytes:
    n, v = name.encode(), value.encode()
    return struct.pack("!B", len(n)) + n + struct.pack("!BH", _STRING, len(v)) + v


def frame(headers: Mapping[str, str], payload: bytes) -> bytes:
    """One event-stream message."""
    encoded = b"".join(_header(k, v) for k, v in headers.items())
    prelude = struct.pack("!II", 12 + len(encoded) + len(payload) + 4, len(encoded))
    message = prelude + struct.pack("!I", zlib.crc32(prelude)) + encoded + payload
    return message + struct.pack("!I", zlib.crc32(message))


def chunk(data: bytes) -> bytes:
    """A ``chunk`` event carrying ``data`` (one provider stream event) base64-encoded, as
    Bedrock's ``InvokeModelWithResponseStream`` sends each one."""
    payload = json.dumps({"bytes": base64.b64encode(data).decode()}).encode()
    return frame(
        {
            ":event-type": "chunk",
            ":content-type": "application/json",
            ":message-type": "event",
        },
        payload,
    )


def exception(exception_type: str, message: str) -> bytes:
    """An exception frame (``throttlingException``, ``modelStreamErrorException``…)."""
    return frame(
        {
            ":exception-type": exception_type,
            ":content-type": "application/json",
            ":message-type": "exception",
        },
        json.dumps({"message": message}).encode(),
    )

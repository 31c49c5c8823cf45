"""Signed webhooks, per the Standard Webhooks specification (what Svix implements).

A receiver must be able to tell that a POST came from us and was not replayed. Every
delivery carries three headers:

- ``webhook-id``: the message id, the same on every retry (receivers deduplicate on it);
- ``webhook-timestamp``: unix seconds of this attempt;
- ``webhook-signature``: ``v1,<base64(HMAC-SHA256(key, f"{id}.{timestamp}.{body}"))>``,
  possibly several space-separated (during a secret rotation).

The signature covers the timestamp, so an old delivery cannot be replayed later with a
fresh one; receivers refuse timestamps more than ``tolerance`` seconds (5 minutes) away
from their clock. The secret is ``whsec_`` + base64 of 24 to 64 random bytes, and the HMAC
key is those bytes — exactly the Standard Webhooks format, so receivers may verify with
:func:`verify_webhook` here or with any Standard Webhooks library.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from typing import Any

from agentqueue.core.base.errors import AgentQueueError

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
#: Seconds a delivery's timestamp may differ from the receiver's clock.
DEFAULT_TOLERANCE = 300


class WebhookVerificationError(AgentQueueError):
    """The delivery is not authentic: missing headers, stale timestamp or bad signature."""


def generate_secret(nbytes: int = 32) -> str:
    """A new signing secret in the Standard Webhooks format."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(nbytes)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key inside a ``whsec_`` secret; ValueError when it is not one."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"a webhook secret starts with {SECRET_PREFIX!r}")
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("a webhook secret is whsec_ followed by base64") from None
    if not 24 <= len(key) <= 64:
        raise ValueError(f"a webhook secret holds 24 to 64 bytes, not {len(key)}")
    return key


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``v1,...`` signature of one delivery."""
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def webhook_headers(
    secret: str, msg_id: str, body: bytes, *, timestamp: int | None = None
) -> dict[str, str]:
    """The headers of one delivery attempt of ``body``."""
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": sign(secret_key(secret), msg_id, ts, body),
        "content-type": "application/json",
    }


def verify_webhook(
    secret: str,
    headers: Mapping[str, str],
    body: bytes | str,
    tolerance: float = DEFAULT_TOLERANCE,
    *,
    now: float | None = None,
) -> Any:
    """Check a delivery as a receiver would; return the parsed JSON body.

    Raises :class:`WebhookVerificationError` when a header is missing, the timestamp is
    further than ``tolerance`` seconds from ``now`` (default: the clock), or no ``v1``
    signature matches. Pass the body exactly as received: re-serialised JSON differs.
    """
    raw = body.encode() if isinstance(body, str) else body
    lower = {k.lower(): v for k, v in headers.items()}
    msg_id = lower.get("webhook-id")
    stamp = lower.get("webhook-timestamp")
    signatures = lower.get("webhook-signature")
    if not (msg_id and stamp and signatures):
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or signature")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise WebhookVerificationError("webhook-timestamp is not unix seconds") from None
    clock = time.time() if now is None else now
    if abs(clock - timestamp) > tolerance:
        raise WebhookVerificationError(
            f"webhook-timestamp is {clock - timestamp:+.0f}s from now (tolerance {tolerance}s)"
        )
    expected = sign(secret_key(secret), msg_id, timestamp, raw).encode()
    for candidate in signatures.split(" "):
        version, _, _ = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(candidate.encode(), expected):
            return json.loads(raw)
    raise WebhookVerificationError("no matching signature")

"""Where each protocol's client puts its API key."""

from __future__ import annotations

from fastapi import Request


def bearer_token(request: Request) -> str | None:
    """The token of ``Authorization: Bearer <token>``, if that is the header's form."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None

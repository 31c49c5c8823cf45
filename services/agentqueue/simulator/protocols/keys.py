"""Where each protocol's client puts its API key (or, for AWS, its access key id)."""

from __future__ import annotations

from fastapi import Request


def bearer_token(request: Request) -> str | None:
    """The token of ``Authorization: Bearer <token>``, if that is the header's form."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


def azure_key(request: Request) -> str | None:
    """Azure OpenAI's ``api-key`` header, or an Entra ID token as ``Authorization: Bearer``."""
    return request.headers.get("api-key") or bearer_token(request)


def aws_key(request: Request) -> str | None:
    """The access key id of a SigV4 ``Authorization`` header (the signature is not checked),
    or a Bedrock API key sent as ``Authorization: Bearer``."""
    scheme, _, rest = request.headers.get("authorization", "").partition(" ")
    if scheme == "AWS4-HMAC-SHA256":
        for part in rest.split(","):
            name, _, value = part.strip().partition("=")
            if name == "Credential":
                return value.split("/", 1)[0] or None
        return None
    return bearer_token(request)

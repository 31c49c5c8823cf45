"""Named deployments: ``/d/{name}/…`` is the simulator's own API under another prefix.

A simulated deployment (an Azure resource, a Bedrock region, a vLLM server…) is told apart
by its base URL, ``{simulator}/d/{name}`` plus the path its SDK expects
(:func:`agentqueue.core.llm.providers.clients.simulated_base_url`). The middleware strips
the prefix before routing, so every route serves every deployment, and leaves the name in
the request's state, where :func:`deployment_of` finds it: the engine keeps the
deployment's own buckets and counts its calls apart.
"""

from __future__ import annotations

import re

from fastapi import Request
from starlette.types import ASGIApp, Receive, Scope, Send

_PREFIX = re.compile(r"^/d/([a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?)(/.*)$")


def deployment_of(request: Request) -> str | None:
    """The deployment named by the call's ``/d/{name}`` prefix, if it had one."""
    name = request.scope.get("state", {}).get("deployment")
    return name if isinstance(name, str) else None


class DeploymentPrefix:
    """ASGI middleware: ``/d/{name}/rest`` is routed as ``/rest``, with the name kept."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            match = _PREFIX.match(scope["path"])
            if match is not None:
                name, rest = match.group(1), match.group(3)
                scope = dict(scope)
                scope["path"] = rest
                raw = scope.get("raw_path")
                if isinstance(raw, bytes):
                    prefix = f"/d/{name}".encode()
                    scope["raw_path"] = raw[len(prefix) :] if raw.startswith(prefix) else raw
                scope["state"] = {**scope.get("state", {}), "deployment": name}
        await self.app(scope, receive, send)

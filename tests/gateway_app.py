"""The gateway app in-process, for tests of the gateway and of the paths through it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from agentqueue.gateway.app import create_app
from agentqueue.gateway.settings import GatewaySettings


@asynccontextmanager
async def gateway_client(
    settings: GatewaySettings, key: str | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client to the gateway built from ``settings``, its lifespan run for the
    duration; with ``key``, every request carries it as a bearer token."""
    app = create_app(settings)
    headers = {"Authorization": f"Bearer {key}"} if key else None
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gateway", headers=headers
        ) as client,
    ):
        yield client

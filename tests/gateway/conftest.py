from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from agentqueue.gateway.app import create_app
from agentqueue.gateway.settings import GatewaySettings

KEY_T1 = "key-tenant-one-0123456789"
KEY_T2 = "key-tenant-two-0123456789"


@pytest.fixture
def gateway_settings(redis_url: str) -> GatewaySettings:
    return GatewaySettings(
        redis_url=SecretStr(redis_url),
        api_keys=SecretStr(f"t1:{KEY_T1},t2:{KEY_T2}"),
        max_body_bytes=64 * 1024,
    )


@pytest.fixture
async def client(gateway_settings: GatewaySettings) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway app in-process, with its lifespan run, authenticated as tenant t1."""
    app = create_app(gateway_settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://gateway",
            headers={"Authorization": f"Bearer {KEY_T1}"},
        ) as c:
            yield c

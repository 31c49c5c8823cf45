from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from agentqueue.gateway.settings import GatewaySettings
from tests.gateway_app import gateway_client

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
    async with gateway_client(gateway_settings, KEY_T1) as c:
        yield c

from collections.abc import AsyncIterator, Iterator
from typing import Any

import anthropic
import httpx
import openai
import pytest
from pydantic import SecretStr

from agentqueue.gateway.app import create_app
from agentqueue.gateway.settings import GatewaySettings
from tests.gateway_app import gateway_client
from tests.servers import serving

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


def served_settings(redis_url: str, simulator_url: str, **fields: Any) -> GatewaySettings:
    """A gateway with the simulator behind it, for tenants t1 and t2."""
    return GatewaySettings(
        redis_url=SecretStr(redis_url),
        api_keys=SecretStr(f"t1:{KEY_T1},t2:{KEY_T2}"),
        simulator_url=simulator_url,
        **fields,
    )


@pytest.fixture
def gateway_url(redis_url: str, simulator: Any) -> Iterator[str]:
    """The gateway served by uvicorn on 127.0.0.1, the simulator behind it; tenant t2 has
    a quota of 300 tokens a minute."""
    settings = served_settings(redis_url, simulator.url, tenant_quotas={"t2": {"tpm": 300}})
    with serving(create_app(settings), name="gateway") as url:
        yield url


@pytest.fixture
async def oai(gateway_url: str) -> AsyncIterator[openai.AsyncOpenAI]:
    """The official OpenAI SDK pointed at the gateway, as tenant t1, without retries."""
    client = openai.AsyncOpenAI(base_url=f"{gateway_url}/v1", api_key=KEY_T1, max_retries=0)
    yield client
    await client.close()


@pytest.fixture
async def claude(gateway_url: str) -> AsyncIterator[anthropic.AsyncAnthropic]:
    """The official Anthropic SDK pointed at the gateway, as tenant t1, without retries."""
    client = anthropic.AsyncAnthropic(base_url=gateway_url, api_key=KEY_T1, max_retries=0)
    yield client
    await client.close()

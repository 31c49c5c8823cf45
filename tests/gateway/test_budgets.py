"""A gateway run alone (no worker, no limiter service) enforces the configured budgets.

The gateway writes ``AGENTQUEUE_BUDGETS`` into Redis when it starts; before that fix only
workers and the limiter service did, so interactive calls through a gateway alone were
unlimited (measured: provider at 12,000 TPM, 3 clients → 46 provider 429s). Here the
simulator plays a small OpenAI (30 requests and 3,000 tokens per 3-second "minute"), the gateway is
configured with that same budget, and three clients call it concurrently: the provider
never answers 429. The same load without the budget makes it 429 — the load is real.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from agentqueue.core.llm.catalog import load_catalog
from agentqueue.gateway.app import create_app
from agentqueue.gateway.settings import GatewaySettings
from tests.gateway.conftest import KEY_T1
from tests.servers import serving

LIMITS = {"rpm": 30, "tpm": 3000, "minute_seconds": 3.0}
CLIENTS, CALLS_PER_CLIENT = 3, 20


def openai_budgets() -> dict[str, dict[str, float]]:
    """The simulator's per-model limit, for every OpenAI model of the catalog."""
    return {
        f"openai:{m.model}": dict(LIMITS) for m in load_catalog().models if m.provider == "openai"
    }


@pytest.fixture
def small_openai(simulator: Any) -> Any:
    simulator.configure({"openai": dict(LIMITS)})
    return simulator


def _gateway(redis_url: str, simulator_url: str, budgets: dict[str, Any]) -> GatewaySettings:
    return GatewaySettings(
        redis_url=SecretStr(redis_url),
        api_keys=SecretStr(f"t1:{KEY_T1}"),
        simulator_url=simulator_url,
        provider_order=["openai"],
        budgets=budgets,
        cache_enabled=False,  # every call must reach the provider (or be held back)
        interactive_max_wait=15.0,
    )


async def _load(gateway_url: str) -> Counter[int]:
    """Three clients, each making its calls one after another, all at once."""
    statuses: Counter[int] = Counter()

    async def client(c: int) -> None:
        async with httpx.AsyncClient(
            base_url=gateway_url, headers={"Authorization": f"Bearer {KEY_T1}"}, timeout=60
        ) as http:
            for n in range(CALLS_PER_CLIENT):
                r = await http.post(
                    "/v1/chat/completions",
                    json={
                        "model": "gpt-4.1-mini",
                        "messages": [{"role": "user", "content": f"client {c} call {n}: hi"}],
                        "max_tokens": 200,
                    },
                )
                statuses[r.status_code] += 1

    await asyncio.gather(*(client(c) for c in range(CLIENTS)))
    return statuses


@pytest.fixture
def served(redis_url: str, small_openai: Any) -> Iterator[Any]:
    def serve(budgets: dict[str, Any]) -> Any:
        return serving(create_app(_gateway(redis_url, small_openai.url, budgets)), name="gw")

    yield serve


async def test_a_gateway_alone_with_a_budget_never_lets_the_provider_answer_429(
    served: Any, small_openai: Any
) -> None:
    with served(openai_budgets()) as url:
        statuses = await _load(url)
    openai = small_openai.stats()["providers"]["openai"]
    assert openai["rate_limited"] == 0, openai
    assert openai["ok"] == statuses[200] > CLIENTS  # calls were served, only spaced out
    assert set(statuses) <= {200, 429}, statuses  # a 429 here is our limiter's, not theirs


async def test_the_same_load_without_a_budget_makes_the_provider_429(
    served: Any, small_openai: Any
) -> None:
    with served({}) as url:
        await _load(url)
    assert small_openai.stats()["providers"]["openai"]["rate_limited"] > 0

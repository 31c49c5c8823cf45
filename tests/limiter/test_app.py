"""The limiter service in-process (real Redis), through its own HTTP client."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import asdict, fields

import httpx
import pytest
from pydantic import SecretStr

from agentqueue.core.base.errors import BudgetExhausted, LimiterUnavailable, UnknownBudget
from agentqueue.core.base.ports import free_port
from agentqueue.core.base.priority import Priority
from agentqueue.core.ratelimit.http_budgets import HttpBudgets
from agentqueue.core.ratelimit.leases import Charge, Feedback
from agentqueue.limiter.app import create_app
from agentqueue.limiter.schemas import FeedbackBody
from agentqueue.limiter.settings import LimiterSettings
from tests.servers import serving

B = "anthropic:claude-sonnet-4-6:default"


@pytest.fixture
async def service(redis_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, HttpBudgets]]:
    """The limiter served by uvicorn on 127.0.0.1 (a thread), and clients to it."""
    settings = LimiterSettings(
        redis_url=SecretStr(redis_url),
        limiter_margin=0,
        headroom_interval=0.05,
        budgets={
            "anthropic:claude-sonnet-4-6": {"rpm": 100, "tpm": 10_000, "minute_seconds": 3600}
        },
    )
    with serving(create_app(settings), name="limiter") as url:
        raw = httpx.AsyncClient(base_url=url)
        client = HttpBudgets(url)
        try:
            yield raw, client
        finally:
            await client.aclose()
            await raw.aclose()


async def test_budgets_from_settings_are_configured_with_headroom(service) -> None:
    raw, client = service
    room = await client.headroom(B)
    # sustainable per real minute: this budget's "minute" is an hour long
    assert room.available_tokens == 10_000
    assert room.sustainable_tpm == pytest.approx(10_000 * 60 / 3600)
    listed = (await raw.get("/v1/budgets")).json()["budgets"]
    assert [b["budget"] for b in listed] == [B]


async def test_acquire_settle_round_trip_refunds(service) -> None:
    _, client = service
    lease = await client.acquire([Charge(B, 3000, output=2000)], priority=Priority.HIGH)
    assert (await client.headroom(B)).available_tokens == pytest.approx(7000, abs=2)
    assert await client.settle(lease, {B: 500})
    assert (await client.headroom(B)).available_tokens == pytest.approx(9500, abs=2)


async def test_exhausted_budget_is_429_with_retry_after(service) -> None:
    raw, client = service
    await client.acquire([Charge(B, 9000)], priority=Priority.HIGH)
    with pytest.raises(BudgetExhausted) as info:
        await client.acquire([Charge(B, 5000)], priority=Priority.HIGH, max_wait=0)
    assert info.value.retry_after > 0 and info.value.budget == B
    r = await raw.post(
        "/v1/acquire",
        json={"charges": [{"budget": B, "tokens": 5000}], "priority": "high", "max_wait": 0},
    )
    assert r.status_code == 429 and float(r.headers["retry-after"]) > 0


async def test_runtime_configuration_and_unknown_budgets(service) -> None:
    raw, client = service
    with pytest.raises(UnknownBudget):
        await client.acquire([Charge("openai:gpt-4.1:default", 10)])
    r = await raw.put("/v1/budgets/openai:gpt-4.1:default", json={"rpm": 10, "tpm": 100})
    assert r.status_code == 200
    await client.acquire([Charge("openai:gpt-4.1:default", 10)])


async def test_bad_bodies_name_the_field(service) -> None:
    raw, _ = service
    r = await raw.post("/v1/acquire", json={"charges": [{"budget": B, "tokens": -1}]})
    assert r.status_code == 422 and "tokens" in r.text
    r = await raw.put(f"/v1/budgets/{B}", json={"rpm": 0, "tpm": 5})
    assert r.status_code == 422 and "rpm" in r.text


async def test_probes_and_metrics(service) -> None:
    raw, _ = service
    assert (await raw.get("/readyz")).json() == {"status": "ready"}
    assert (await raw.get("/metrics")).status_code == 200


async def test_unreachable_service_is_limiter_unavailable() -> None:
    client = HttpBudgets(f"http://127.0.0.1:{free_port()}", timeout=1)
    with pytest.raises(LimiterUnavailable):
        await client.acquire([Charge(B, 1)])
    await client.aclose()


async def test_tenant_quota_over_http_is_429_quota_exceeded(service) -> None:
    from agentqueue.core.base.errors import QuotaExceeded
    from agentqueue.core.ratelimit.budget import BudgetLimits

    _, client = service
    await client.configure("tenant:acme", BudgetLimits(rpm=10**9, tpm=1000, margin=0, reserves={}))
    charges = [Charge(B, 900), Charge("tenant:acme", 900, quota=True)]
    await client.acquire(charges, priority=Priority.HIGH)
    with pytest.raises(QuotaExceeded) as refused:
        await client.acquire(charges, priority=Priority.HIGH, max_wait=30)
    assert refused.value.tenant == "acme" and refused.value.quota == "tpm"
    assert refused.value.retry_after == pytest.approx(48, abs=1)  # 800 of 1,000/minute


async def test_bad_limits_are_422_naming_the_field(service) -> None:
    raw, _ = service
    bad = await raw.put(f"/v1/budgets/{B}", json={"rpm": 10, "tpm": 0})
    assert bad.status_code == 422 and "tpm" in bad.text
    bad = await raw.put(f"/v1/budgets/{B}", json={"rpm": 10, "tpm": 10, "reserves": {"batch": 1.5}})
    assert bad.status_code == 422 and "reserves" in bad.text


async def test_metrics_expose_headroom_per_budget(service) -> None:

    raw, client = service
    await client.acquire([Charge(B, 3000)], priority=Priority.HIGH)
    await asyncio.sleep(0.3)  # the gauges refresh on a timer (every 0.05 s here)
    text = (await raw.get("/metrics")).text
    labels = 'deployment="default",model="claude-sonnet-4-6",provider="anthropic"'
    line = next(
        x
        for x in text.splitlines()
        if x.startswith(f"agentqueue_budget_available_tokens{{{labels}}}")
    )
    assert float(line.split()[-1]) == pytest.approx(7000, abs=10)
    assert f"agentqueue_budget_capacity_tokens{{{labels}}}" in text
    assert "budget=" not in text  # one packed label no more


def test_every_route_is_served() -> None:
    """The routes as they were when ``create_app`` defined them all inline (``/metrics``,
    kept out of the schema, is asked for in ``test_probes_and_metrics``)."""
    paths = create_app(LimiterSettings()).openapi()["paths"]
    served = {(method.upper(), path) for path, ops in paths.items() for method in ops}
    assert served == {
        ("POST", "/v1/acquire"),
        ("POST", "/v1/settle"),
        ("POST", "/v1/budgets/{budget}/feedback"),
        ("PUT", "/v1/budgets/{budget}"),
        ("GET", "/v1/budgets/{budget}/headroom"),
        ("GET", "/v1/budgets"),
        ("GET", "/healthz"),
        ("GET", "/readyz"),
    }
    assert "AcquireBody" in str(paths["/v1/acquire"]["post"]["requestBody"])


def test_the_feedback_body_is_the_feedback_value_field_for_field() -> None:
    """A field the body lacks is one the service silently drops (margin once was)."""
    assert set(FeedbackBody.model_fields) == {f.name for f in fields(Feedback)}
    full = Feedback(1, 2, 3, 4, retry_after=0.5, margin=0.1, age=2.0)
    assert FeedbackBody(**asdict(full)).to_feedback() == full
    assert FeedbackBody().to_feedback() == Feedback()


async def test_feedback_over_http_applies_the_margin_sent(service) -> None:
    raw, _ = service
    r = await raw.post(f"/v1/budgets/{B}/feedback", json={"remaining_tokens": 5000, "margin": 0.2})
    assert r.status_code == 200 and r.json() == {"lowered": True}
    room = (await raw.get(f"/v1/budgets/{B}/headroom")).json()
    assert room["available_tokens"] == pytest.approx(4000, abs=5)
    bad = await raw.post(f"/v1/budgets/{B}/feedback", json={"margin": 0.5})
    assert bad.status_code == 422 and "margin" in bad.text


async def test_a_budget_put_without_margin_takes_the_services(service) -> None:
    raw, _ = service  # the service's limiter_margin is 0 here
    await raw.put("/v1/budgets/a:m:default", json={"rpm": 10, "tpm": 1000, "margin": 0.1})
    await raw.put("/v1/budgets/b:m:default", json={"rpm": 10, "tpm": 1000})
    a = (await raw.get("/v1/budgets/a:m:default/headroom")).json()
    b = (await raw.get("/v1/budgets/b:m:default/headroom")).json()
    assert (a["available_tokens"], b["available_tokens"]) == pytest.approx((900, 1000), abs=1)
    listed = [x["budget"] for x in (await raw.get("/v1/budgets")).json()["budgets"]]
    assert listed == sorted([B, "a:m:default", "b:m:default"])

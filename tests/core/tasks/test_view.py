"""What a client sees of each call: who answered, and how its tier and price were chosen."""

from decimal import Decimal

from agentqueue.core.llm.messages import Tier, Usage
from agentqueue.core.llm.routing import RouteDecision
from agentqueue.core.tasks.model import CallRecord
from agentqueue.core.tasks.view import CallView


def test_call_view_shows_step_route_and_price_date() -> None:
    route = RouteDecision(
        requested="auto", tier=Tier.EFFICIENT, by="rule", reason="short prompt", rule="short"
    )
    record = CallRecord(
        provider="anthropic",
        model="claude-haiku-4-5",
        usage=Usage(input_tokens=10, output_tokens=5),
        cost_usd=Decimal("0.0001"),
        latency_s=0.2,
        attempts=[],
        step="map:2",
        route=route,
        prices_as_of="2025-06-01",
    )
    view = CallView.of(record).model_dump(mode="json")
    assert view["step"] == "map:2" and view["prices_as_of"] == "2025-06-01"
    assert view["route"]["tier"] == "efficient" and view["route"]["rule"] == "short"


def test_call_view_says_when_our_cache_answered() -> None:
    record = CallRecord(
        provider="openai",
        model="gpt-4.1",
        usage=Usage(),
        cost_usd=Decimal(0),
        latency_s=0.001,
        attempts=[],
        cached="exact",
        saved_usd=Decimal("0.0042"),
    )
    view = CallView.of(record)
    assert view.cached == "exact" and view.saved_usd == 0.0042 and view.cost_usd == 0

"""Routing: ``auto`` follows the rules in order and says which one decided."""

import json

import pytest

from agentqueue.core.llm.messages import Tier
from agentqueue.core.llm.routing import (
    RouteInput,
    RouteRule,
    RoutingPolicy,
    TierChoice,
    parse_classifier,
    resolve,
    route,
)

AUTO = TierChoice.AUTO
DEFAULT = RoutingPolicy()


@pytest.mark.parametrize(
    ("inp", "tier", "rule"),
    [
        (
            RouteInput(kind="extract", prompt_tokens=3_000, has_schema=True),
            Tier.EFFICIENT,
            "structured-output",
        ),
        (
            RouteInput(kind="extract", prompt_tokens=50_000, has_schema=True),
            Tier.FRONTIER,
            "long-context",
        ),
        (
            RouteInput(kind="map_reduce", step="map:3", prompt_tokens=800),
            Tier.EFFICIENT,
            "sub-questions",
        ),
        (RouteInput(kind="map_reduce", step="reduce", prompt_tokens=5_000), Tier.FRONTIER, None),
        (
            RouteInput(kind="session_step", step="compact", prompt_tokens=60_000),
            Tier.EFFICIENT,
            "summaries",
        ),
        (RouteInput(kind="completion", prompt_tokens=200), Tier.EFFICIENT, "short-chat"),
        (RouteInput(kind="completion", prompt_tokens=40_000), Tier.FRONTIER, "long-context"),
    ],
)
def test_default_rules_pick_the_tier_they_say(
    inp: RouteInput, tier: Tier, rule: str | None
) -> None:
    decision = route(DEFAULT, AUTO, inp)
    assert decision is not None
    assert decision.tier is tier and decision.rule == rule
    assert decision.by == ("rule" if rule else "default")
    assert decision.requested is AUTO and decision.reason


def test_an_explicit_tier_is_never_rerouted() -> None:
    inp = RouteInput(kind="extract", prompt_tokens=10, has_schema=True)
    decision = route(DEFAULT, TierChoice.FRONTIER, inp)
    assert decision is not None and decision.tier is Tier.FRONTIER and decision.by == "requested"


def test_rules_from_the_environment_replace_the_defaults_and_the_first_match_wins() -> None:
    rules = [
        {"name": "big-to-frontier", "tier": "frontier", "min_prompt_tokens": 1000},
        {"name": "research-cheap", "tier": "efficient", "kinds": ["map_reduce"]},
    ]
    policy = RoutingPolicy.from_env(
        {"AGENTQUEUE_ROUTING_RULES": json.dumps(rules), "AGENTQUEUE_ROUTING_DEFAULT": "efficient"}
    )
    big = route(policy, AUTO, RouteInput(kind="map_reduce", prompt_tokens=5000))
    small = route(policy, AUTO, RouteInput(kind="map_reduce", prompt_tokens=10))
    other = route(policy, AUTO, RouteInput(kind="completion", prompt_tokens=10))
    assert big is not None and (big.tier, big.rule) == (Tier.FRONTIER, "big-to-frontier")
    assert small is not None and (small.tier, small.rule) == (Tier.EFFICIENT, "research-cheap")
    assert other is not None and (other.tier, other.by) == (Tier.EFFICIENT, "default")


def test_a_rule_with_an_unknown_condition_is_refused() -> None:
    with pytest.raises(ValueError):
        RouteRule.model_validate({"name": "x", "tier": "frontier", "min_tokens": 5})


async def test_the_classifier_decides_what_no_rule_does() -> None:
    policy = RoutingPolicy(rules=(), classifier=True)
    asked: list[RouteInput] = []

    async def says_simple(inp: RouteInput) -> Tier | None:
        asked.append(inp)
        return parse_classifier("SIMPLE.")

    decision = await resolve(policy, AUTO, RouteInput(prompt_tokens=5, preview="hi"), says_simple)
    assert (decision.tier, decision.by) == (Tier.EFFICIENT, "classifier")
    assert asked and asked[0].preview == "hi"

    async def unsure(inp: RouteInput) -> Tier | None:
        return parse_classifier("it depends")

    decision = await resolve(policy, AUTO, RouteInput(prompt_tokens=5), unsure)
    assert (decision.tier, decision.by) == (Tier.FRONTIER, "default")


async def test_the_classifier_is_not_asked_when_a_rule_matches() -> None:
    async def never(inp: RouteInput) -> Tier | None:
        raise AssertionError("classifier called")

    policy = RoutingPolicy(classifier=True)
    decision = await resolve(policy, AUTO, RouteInput(kind="completion", prompt_tokens=10), never)
    assert decision.rule == "short-chat"


def test_parse_classifier() -> None:
    assert parse_classifier("COMPLEX") is Tier.FRONTIER
    assert parse_classifier("simple") is Tier.EFFICIENT
    assert parse_classifier("simple or complex") is None
    assert parse_classifier("") is None


def test_the_preview_is_never_recorded() -> None:
    decision = route(
        DEFAULT, AUTO, RouteInput(kind="completion", prompt_tokens=10, preview="secret")
    )
    assert decision is not None and "secret" not in decision.model_dump_json()
    assert "secret" not in RouteInput(preview="secret").model_dump_json()

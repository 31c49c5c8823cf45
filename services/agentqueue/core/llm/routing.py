"""Which tier a call needs: ``frontier``, ``efficient``, or ``auto`` by rules.

Frontier models cost 3-10 times what efficient ones do, and much agent work (a
sub-question, a structured extraction from a short text, a summary) is done as well by
the efficient tier. A call that asks for ``auto`` is routed by rules that are data, not
code (``AGENTQUEUE_ROUTING_RULES``, JSON): evaluated in order, the first match wins,
and the decision names the rule and the reason so that it can be recorded on the call.
What no rule decides goes to the policy's default, or — when enabled — to a cheap
classifier call (efficient tier, a few output tokens). Fallback then keeps the tier
chosen here: the chain never leaves a tier.

This module is pure: the classifier is a callable the caller provides.
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from agentqueue.core.llm.messages import Tier


class TierChoice(StrEnum):
    """What a caller may ask for: a tier, or ``auto`` to let the rules pick."""

    FRONTIER = "frontier"
    EFFICIENT = "efficient"
    AUTO = "auto"


class RouteInput(BaseModel):
    """What the rules look at for one call."""

    model_config = ConfigDict(frozen=True)

    #: The agent kind of the task (``completion``, ``map_reduce``, ``session_step``…).
    kind: str = "completion"
    #: The step of the agent making the call (``map``, ``reduce``, ``extract``…); rules
    #: match its name up to a colon (``map:3`` is a ``map`` step).
    step: str | None = None
    #: The call's prompt tokens, counted before the call.
    prompt_tokens: int = 0
    #: Whether the answer must validate against a JSON schema.
    has_schema: bool = False
    #: The start of the last user message, for the classifier only (never recorded).
    preview: str = Field(default="", exclude=True, repr=False)


class RouteRule(BaseModel):
    """A rule: every condition given must hold; absent conditions match anything."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    tier: Tier
    kinds: list[str] | None = None
    steps: list[str] | None = None
    min_prompt_tokens: int | None = Field(default=None, ge=0)
    max_prompt_tokens: int | None = Field(default=None, ge=0)
    has_schema: bool | None = None

    def matches(self, inp: RouteInput) -> bool:
        return (
            (self.kinds is None or inp.kind in self.kinds)
            and (self.steps is None or (inp.step or "").partition(":")[0] in self.steps)
            and (self.min_prompt_tokens is None or inp.prompt_tokens >= self.min_prompt_tokens)
            and (self.max_prompt_tokens is None or inp.prompt_tokens <= self.max_prompt_tokens)
            and (self.has_schema is None or inp.has_schema == self.has_schema)
        )

    def why(self) -> str:
        parts = []
        if self.kinds is not None:
            parts.append(f"kind in {self.kinds}")
        if self.steps is not None:
            parts.append(f"step in {self.steps}")
        if self.min_prompt_tokens is not None:
            parts.append(f"prompt >= {self.min_prompt_tokens} tokens")
        if self.max_prompt_tokens is not None:
            parts.append(f"prompt <= {self.max_prompt_tokens} tokens")
        if self.has_schema is not None:
            parts.append("output schema" if self.has_schema else "no output schema")
        return " and ".join(parts) or "always"


#: The default rules: cheap work to the efficient tier, long or open-ended work to frontier.
DEFAULT_RULES: tuple[RouteRule, ...] = (
    RouteRule(
        name="structured-output",
        tier=Tier.EFFICIENT,
        has_schema=True,
        max_prompt_tokens=32_000,
    ),
    RouteRule(name="sub-questions", tier=Tier.EFFICIENT, steps=["map"], max_prompt_tokens=16_000),
    RouteRule(name="summaries", tier=Tier.EFFICIENT, steps=["compact", "plan"]),
    RouteRule(name="long-context", tier=Tier.FRONTIER, min_prompt_tokens=32_000),
    RouteRule(
        name="short-chat",
        tier=Tier.EFFICIENT,
        kinds=["completion", "session_step"],
        max_prompt_tokens=1_000,
    ),
)


class RouteDecision(BaseModel):
    """The tier a call got, and why; recorded on the call."""

    model_config = ConfigDict(frozen=True)

    requested: TierChoice
    tier: Tier
    #: ``requested`` | ``rule`` | ``default`` | ``classifier``
    by: str
    reason: str
    rule: str | None = None


class RoutingPolicy(BaseModel):
    """The rules ``auto`` follows, what applies when none matches, and the classifier."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: tuple[RouteRule, ...] = DEFAULT_RULES
    default: Tier = Tier.FRONTIER
    #: Ask an efficient model when no rule matches (else use ``default``).
    classifier: bool = False

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> RoutingPolicy:
        """``AGENTQUEUE_ROUTING_RULES`` (a JSON list of rules, replacing the defaults),
        ``AGENTQUEUE_ROUTING_DEFAULT`` (a tier), ``AGENTQUEUE_ROUTING_CLASSIFIER`` (bool)."""
        env = dict(os.environ) if env is None else env
        data: dict[str, object] = {}
        if env.get("AGENTQUEUE_ROUTING_RULES"):
            data["rules"] = json.loads(env["AGENTQUEUE_ROUTING_RULES"])
        if env.get("AGENTQUEUE_ROUTING_DEFAULT"):
            data["default"] = env["AGENTQUEUE_ROUTING_DEFAULT"]
        if env.get("AGENTQUEUE_ROUTING_CLASSIFIER"):
            data["classifier"] = env["AGENTQUEUE_ROUTING_CLASSIFIER"].lower() in (
                "1",
                "true",
                "yes",
            )
        return cls.model_validate(data)


def route(policy: RoutingPolicy, requested: TierChoice, inp: RouteInput) -> RouteDecision | None:
    """The decision by the rules alone; None when the classifier should be asked."""
    if requested is not TierChoice.AUTO:
        return RouteDecision(
            requested=requested, tier=Tier(requested.value), by="requested", reason="asked for"
        )
    for rule in policy.rules:
        if rule.matches(inp):
            return RouteDecision(
                requested=requested, tier=rule.tier, by="rule", reason=rule.why(), rule=rule.name
            )
    if policy.classifier:
        return None
    return RouteDecision(
        requested=requested, tier=policy.default, by="default", reason="no rule matched"
    )


#: Asks for the tier a request needs; None when it cannot tell.
Classifier = Callable[[RouteInput], Awaitable[Tier | None]]


async def resolve(
    policy: RoutingPolicy,
    requested: TierChoice,
    inp: RouteInput,
    classify: Classifier | None = None,
) -> RouteDecision:
    """The rules, then the classifier when they leave it open, then the default."""
    decision = route(policy, requested, inp)
    if decision is not None:
        return decision
    tier = await classify(inp) if classify is not None else None
    if tier is None:
        return RouteDecision(
            requested=requested,
            tier=policy.default,
            by="default",
            reason="no rule matched; the classifier could not tell",
        )
    return RouteDecision(
        requested=requested, tier=tier, by="classifier", reason=f"classifier said {tier.value}"
    )


CLASSIFIER_SYSTEM = (
    "You route requests to a model tier. Answer with one word: SIMPLE if a small, fast "
    "model answers the request as well as a frontier model (lookup, rewrite, short "
    "extraction, classification), COMPLEX if it needs multi-step reasoning, long context "
    "or expert knowledge."
)


def parse_classifier(text: str) -> Tier | None:
    """The classifier's answer as a tier; None when it said neither word."""
    words = text.upper()
    simple, complex_ = "SIMPLE" in words, "COMPLEX" in words
    if simple == complex_:
        return None
    return Tier.EFFICIENT if simple else Tier.FRONTIER

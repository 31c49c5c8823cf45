"""Which deployment of a model takes a call: the one whose budget can take it soonest.

A model may be served by several deployments (an OpenAI account, Azure resources in two
regions, a second key): each has its own budget in the shared limiter
(``provider:model:deployment``) and its own circuit breaker. Among a model's deployments
the call goes first to the one whose budget can take it soonest — read from the limiter
(:meth:`Budgets.headroom`, one read, no reservation) — then, on equal waits, to a
preferred region, then to the one with the most headroom scaled by its weight. The
chain then falls back across the rest of the model's deployments before it falls back
to another model or provider.

A deployment answering 429s is drained without a retry storm by what already exists:
its 429 empties its budget for the provider's retry-after (so its wait grows and calls
go elsewhere), and repeated failures open its breaker.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from agentqueue.core.base.errors import LimiterUnavailable, UnknownBudget
from agentqueue.core.base.priority import Priority
from agentqueue.core.llm.catalog import ModelInfo
from agentqueue.core.llm.messages import CompletionRequest
from agentqueue.core.llm.providers.base import Provider
from agentqueue.core.ratelimit.budget import budget_name
from agentqueue.core.ratelimit.gate import BudgetGate
from agentqueue.core.ratelimit.leases import Headroom

#: The budget account of a provider configured from environment variables alone.
DEFAULT_DEPLOYMENT = "default"


def deployment_of(provider: Provider) -> str:
    """The deployment a provider adapter reaches (``default`` without a config file)."""
    return str(getattr(provider.config, "deployment", DEFAULT_DEPLOYMENT))


def deployment_key(provider: Provider) -> str:
    """A deployment's unique name in this process: its breaker, its logs.

    Deployments from the config file have unique names; the environment's default ones
    are all called ``default``, one per provider, so they go by their provider's name.
    """
    deployment = deployment_of(provider)
    return provider.name if deployment == DEFAULT_DEPLOYMENT else deployment


def serves(provider: Provider, info: ModelInfo) -> bool:
    """Whether ``provider`` (one deployment) can be asked for catalog model ``info``.

    A deployment from the config file serves the models it lists; a default deployment
    serves every catalog model of its provider.
    """
    names: Mapping[str, str] = getattr(provider.config, "model_names", None) or {}
    if names:
        return info.model in names
    return info.provider == provider.name


@dataclass(frozen=True)
class Placement:
    """Where a deployment sits and what share of its model's traffic it should take."""

    region: str | None = None
    weight: float = 1.0


class DeploymentRouter:
    """Orders a model's deployments for one call; see the module docstring.

    ``strategy``: ``headroom`` (the default) or ``ordered`` (the configured order, for
    a primary/secondary setup). Without a gate nothing is known of budgets: the order is
    by region, then weight.
    """

    def __init__(
        self,
        placements: Mapping[str, Placement] | None = None,
        *,
        region_preference: Sequence[str] = (),
        strategy: str = "headroom",
        rng: random.Random | None = None,
    ) -> None:
        self.placements = dict(placements or {})
        self.region_preference = list(region_preference)
        self.strategy = strategy
        self._rng = rng or random.Random()

    def placement(self, provider: Provider) -> Placement:
        return self.placements.get(deployment_key(provider), Placement())

    def _region_rank(self, provider: Provider) -> int:
        region = self.placement(provider).region
        if region in self.region_preference:
            return self.region_preference.index(region)
        return len(self.region_preference)

    async def order(
        self,
        group: Sequence[tuple[Provider, ModelInfo]],
        request: CompletionRequest,
        gate: BudgetGate | None,
        priority: Priority = Priority.STANDARD,
    ) -> list[tuple[Provider, ModelInfo]]:
        """``group`` (deployments of one model) in the order to try them."""
        if len(group) < 2 or self.strategy == "ordered":
            return list(group)
        scored = []
        for index, (provider, info) in enumerate(group):
            wait, free = 0.0, 1.0
            if gate is not None:
                wait, free = await self._headroom(gate, provider, info, request)
            weight = self.placement(provider).weight
            # jitter: replicas reading the same headroom at once should not all pick
            # the same deployment
            share = free * weight * self._rng.uniform(0.85, 1.0)
            scored.append((round(wait, 1), self._region_rank(provider), -share, index))
        scored.sort()
        return [group[s[3]] for s in scored]

    @staticmethod
    async def _headroom(
        gate: BudgetGate, provider: Provider, info: ModelInfo, request: CompletionRequest
    ) -> tuple[float, float]:
        """(seconds until the deployment's budget can take the call, the fraction of it
        free now). A budget not configured is unlimited; a limiter that does not answer
        leaves the decision to admission (it keeps a local share)."""
        name = budget_name(info.provider, info.model, deployment_of(provider))
        try:
            room = await gate.budgets.headroom(name)
        except (UnknownBudget, LimiterUnavailable):
            return 0.0, 1.0
        tokens = gate.estimate(request, info.provider, info.model)
        return wait_for(room, tokens), free_fraction(room)


def wait_for(room: Headroom, tokens: int) -> float:
    """Seconds until ``room`` holds one request and ``tokens`` tokens at its refill rate."""
    waits = [0.0]
    for available, needed, per_minute in (
        (room.available_requests, 1.0, room.sustainable_rpm),
        (room.available_tokens, float(tokens), room.sustainable_tpm),
    ):
        if available < needed:
            waits.append(math.inf if per_minute <= 0 else (needed - available) * 60 / per_minute)
    return max(waits)


def free_fraction(room: Headroom) -> float:
    """The smaller of the request and token shares of the budget free right now."""
    shares = [
        room.available_requests / room.capacity_requests if room.capacity_requests else 1.0,
        room.available_tokens / room.capacity_tokens if room.capacity_tokens else 1.0,
    ]
    return max(0.0, min(shares))

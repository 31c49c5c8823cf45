"""What agents share in one worker: the catalog, token counter, routing and context policy.

Built once per runner from the call pipeline it wraps (a bare :class:`FallbackChain` or
the cache pipeline in front of one): the chain's providers say which catalog models a
tier's call may land on, hence its worst-case price (budgets) and its smallest context
window (sessions).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from decimal import Decimal

from agentqueue.core.calls.fallback import FallbackChain
from agentqueue.core.llm.catalog import Catalog, ModelInfo, UnknownModel, load_catalog
from agentqueue.core.llm.messages import CompletionRequest, Tier
from agentqueue.core.llm.routing import RoutingPolicy
from agentqueue.core.llm.tokens import TokenCounter, count_endpoints
from agentqueue.core.sessions.context import ContextPolicy

_PER_TOKEN = Decimal(1_000_000)


def fallback_chain(completer: object) -> FallbackChain | None:
    """The chain behind ``completer``: itself, or the ``chain`` a pipeline wraps."""
    if isinstance(completer, FallbackChain):
        return completer
    inner = getattr(completer, "chain", None)
    return inner if isinstance(inner, FallbackChain) else None


@dataclass
class AgentRuntime:
    catalog: Catalog
    #: Provider names in fallback order.
    providers: list[str]
    counter: TokenCounter = field(default_factory=TokenCounter)
    routing: RoutingPolicy = field(default_factory=RoutingPolicy)
    context: ContextPolicy = field(default_factory=ContextPolicy)
    #: Steps of one task running at once (each LLM step still waits for the limiter).
    max_parallel: int = 8

    @classmethod
    def for_completer(cls, completer: object, env: dict[str, str] | None = None) -> AgentRuntime:
        """From the pipeline and the environment: ``AGENTQUEUE_ROUTING_*``,
        ``AGENTQUEUE_SESSION_*``, ``AGENTQUEUE_AGENT_MAX_PARALLEL`` and
        ``AGENTQUEUE_TOKEN_COUNT`` (``endpoint``: ask providers that have a count
        endpoint, the default; ``estimate``: the calibrated local estimate only)."""
        env = dict(os.environ) if env is None else env
        chain = fallback_chain(completer)
        catalog = chain.catalog if chain is not None else load_catalog()
        providers = chain.providers if chain is not None else []
        endpoints = {}
        if env.get("AGENTQUEUE_TOKEN_COUNT", "endpoint") == "endpoint":
            configs = [p.config for p in providers if hasattr(p, "config")]
            endpoints = count_endpoints(configs)
        return cls(
            catalog=catalog,
            providers=[p.name for p in providers],
            counter=TokenCounter(endpoints=endpoints),
            routing=RoutingPolicy.from_env(env),
            context=ContextPolicy.from_env(env),
            max_parallel=int(env.get("AGENTQUEUE_AGENT_MAX_PARALLEL", "8")),
        )

    def candidates(self, tier: Tier, model: str | None = None) -> list[ModelInfo]:
        """The catalog models a call of ``tier`` may be answered by, preferred first."""
        out = []
        if model is not None:
            with contextlib.suppress(UnknownModel):
                out.append(self.catalog.get(model))
        for provider in self.providers:
            try:
                info = self.catalog.default_model(provider, tier)
            except UnknownModel:
                continue
            if info not in out:
                out.append(info)
        if not out:  # no chain known (tests, tools): every catalog model of the tier
            out = [m for m in self.catalog.models if m.tier == tier]
        return out

    def window(self, tier: Tier, model: str | None = None) -> int:
        """The smallest context window among the candidates (fallback may land anywhere),
        never above the policy's ceiling."""
        windows = [m.context_window for m in self.candidates(tier, model)]
        return min([self.context.ceiling, *windows])

    def worst_cost(self, request: CompletionRequest, prompt_tokens: int) -> Decimal:
        """The most the call can cost: its prompt and all of ``max_tokens`` at the
        priciest candidate."""
        return max(
            (
                (prompt_tokens * m.input + request.max_tokens * m.output) / _PER_TOKEN
                for m in self.candidates(request.tier, request.model)
            ),
            default=Decimal(0),
        )

    async def aclose(self) -> None:
        await self.counter.aclose()

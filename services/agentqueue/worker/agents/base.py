"""The contract between the task runner and an agent.

An agent makes LLM calls only through :meth:`AgentContext.complete`, which for every
call: resolves its tier (``auto`` by the routing rules, the decision recorded on the
call), counts its prompt tokens, checks the task's and session's budgets against the
call's worst case, and hands it to the runner, which records, costs and rate-limits it.
After the answer, the token counter calibrates its estimate from the reported usage.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from agentqueue.core.base.errors import AgentQueueError
from agentqueue.core.llm.messages import ChatMessage, Completion, CompletionRequest, Tier, Usage
from agentqueue.core.llm.routing import (
    CLASSIFIER_SYSTEM,
    RouteDecision,
    RouteInput,
    TierChoice,
    parse_classifier,
    resolve,
)
from agentqueue.core.tasks.model import TaskResult, TaskSpec
from agentqueue.worker.agents.budget import Budget, CostGuard

#: How far above its estimate a prompt's real count may come out (CJK, JSON and code
#: before calibration has seen them: up to about 2x, see docs/agents.md#token-counting).
COUNT_MARGIN = 2.0

if TYPE_CHECKING:
    import redis.asyncio as aioredis

    from agentqueue.worker.agents.runtime import AgentRuntime


class UnknownAgent(AgentQueueError):
    """A task names an agent kind this worker does not have."""


@dataclass(frozen=True)
class CallInfo:
    """What the runner records on a call besides its answer."""

    step: str | None = None
    route: RouteDecision | None = None


class CallFn(Protocol):
    """The runner's call: fallback, limiter, cache, the task's call record."""

    def __call__(
        self, request: CompletionRequest, info: CallInfo | None = None
    ) -> Awaitable[Completion]: ...


def _zero() -> Decimal:
    return Decimal(0)


class AgentContext:
    """What an agent may use while it runs: the LLM, through our pipeline only."""

    def __init__(
        self,
        task_id: str,
        call: CallFn,
        *,
        spec: TaskSpec | None = None,
        runtime: AgentRuntime | None = None,
        spent: Any = None,
        tenant: str | None = None,
        redis: aioredis.Redis | None = None,
    ) -> None:
        from agentqueue.worker.agents.runtime import AgentRuntime

        self.task_id = task_id
        self._call = call
        self.spec = spec
        self.runtime = runtime or AgentRuntime.for_completer(None, env={})
        self.tenant = tenant
        #: The worker's Redis (sessions live there); None outside a worker.
        self.redis = redis
        #: This task's recorded spend so far, USD (the runner's running total).
        self.spent = spent if spent is not None else _zero
        self.spent_at_start: Decimal = self.spent()
        self.guard = CostGuard(self.spent)
        if spec is not None and spec.max_cost_usd is not None:
            self.guard.add(Budget("task", spec.max_cost_usd))
        #: Calls made through this context, and the prompt tokens of the last one.
        self.calls = 0
        self.last_prompt_tokens = 0
        #: Tokens of those calls, as the providers reported them.
        self.usage = Usage()

    @property
    def kind(self) -> str:
        return self.spec.kind if self.spec is not None else "completion"

    async def route(
        self, request: CompletionRequest, tier: TierChoice | None, step: str | None, schema: bool
    ) -> RouteDecision:
        """The tier this call gets: asked for, or by the rules for ``auto``."""
        requested = tier
        if requested is None and self.spec is not None and self.spec.tier_choice is not None:
            requested = self.spec.tier_choice
        if requested is None:
            requested = TierChoice(request.tier.value)
        first = self.runtime.candidates(request.tier, request.model)
        model = first[0].model if first else ""
        preview = request.messages[-1].content[:2000]
        inp = RouteInput(
            kind=self.kind,
            step=step,
            prompt_tokens=self.runtime.counter.estimate(request, model),
            has_schema=schema,
            preview=preview,
        )
        return await resolve(self.runtime.routing, requested, inp, self._classify)

    async def _classify(self, inp: RouteInput) -> Tier | None:
        """The routing classifier: one short efficient-tier call."""
        answer = await self.complete(
            CompletionRequest(
                messages=[ChatMessage(role="user", content=inp.preview or "(empty)")],
                system=CLASSIFIER_SYSTEM,
                tier=Tier.EFFICIENT,
                max_tokens=5,
                temperature=0,
            ),
            step="route",
            tier=TierChoice.EFFICIENT,
        )
        return parse_classifier(answer.text)

    async def complete(
        self,
        request: CompletionRequest,
        *,
        step: str | None = None,
        tier: TierChoice | None = None,
        schema: bool = False,
        prompt_tokens: int | None = None,
    ) -> Completion:
        """One LLM call: routing, token count, budgets, fallback, cost and the task's call
        record are handled for you. ``step`` names the call in the record; ``schema``
        says the answer must follow a JSON schema (a routing input); ``prompt_tokens``
        is the caller's own count, if it made one (else it is counted here)."""
        decision = await self.route(request, tier, step, schema)
        if decision.tier is not request.tier:
            request = request.model_copy(update={"tier": decision.tier})
        first = self.runtime.candidates(request.tier, request.model)
        head = first[0] if first else None
        tokens = prompt_tokens
        if tokens is None:
            tokens = await self._prompt_tokens(
                request, head.model if head else "", head.provider if head else None
            )
        reservation = self.guard.reserve(self.runtime.worst_cost(request, tokens))
        try:
            completion = await self._call(request, CallInfo(step=step, route=decision))
        finally:
            self.guard.release(reservation)
        self.calls += 1
        self.last_prompt_tokens = tokens
        self.usage = self.usage + completion.usage
        self.runtime.counter.observe(
            request, completion.model, completion.provider, completion.usage
        )
        return completion

    async def _prompt_tokens(
        self, request: CompletionRequest, model: str, provider: str | None
    ) -> int:
        """The calibrated local estimate, or the provider's exact count when a budget
        decision could turn on the difference (the estimate at :data:`COUNT_MARGIN` times
        could be refused). The count is a round trip to the provider, as long as a short
        call's first token; most calls of most tasks have no budget near its end."""
        counter = self.runtime.counter
        estimate = counter.estimate(request, model, provider)
        margin = math.ceil(estimate * COUNT_MARGIN)
        if self.guard.could_refuse(self.runtime.worst_cost(request, margin)):
            return await counter.count(request, model, provider)
        return estimate


class Agent(Protocol):
    async def run(self, spec: TaskSpec, ctx: AgentContext) -> TaskResult: ...

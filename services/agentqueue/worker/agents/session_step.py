"""``session_step``: one step of a session — fit its context, call the model, keep the reply.

The gateway queues it (``POST /v1/sessions/{id}/steps``) with ``params.session_id``
after claiming the session for the task, so no turn is added while the step rewrites the
context. The step:

1. measures the context against the limit — the smallest window the step's call may
   land on (fallback may switch models), minus ``max_tokens`` and a margin;
2. compacts it if needed (``core.sessions.context``: elide old tool results, then
   summarise older turns with the efficient tier — those calls are recorded as ``compact``
   steps of this task), writes the new context and logs each compaction;
3. counts the request again where it could matter — after a compaction, or when twice
   the estimate would not fit — by the provider's count endpoint where it has one (a
   round trip, skipped far below the limit) and, if the count comes out above the
   estimate, compacts further with the estimate corrected;
   never sends what does not fit: :class:`ContextOverflow` instead of a provider's 400;
4. makes the call (budgets of the task and the session checked first), appends the reply
   to the transcript and context, and adds what the step spent to the session.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from agentqueue.core.base.errors import AgentQueueError, ContextOverflow, SessionBusy
from agentqueue.core.llm.messages import CompletionRequest, Tier
from agentqueue.core.llm.routing import TierChoice
from agentqueue.core.llm.tokens import estimate_text
from agentqueue.core.sessions.context import ContextLimit, ContextPolicy, Fitted, fit, render
from agentqueue.core.sessions.metrics import COMPACTIONS, SESSION_STEP_COST
from agentqueue.core.sessions.models import Item, ItemKind, SessionRecord
from agentqueue.core.sessions.store import SessionStore
from agentqueue.core.tasks.agent_params import SessionStepParams
from agentqueue.core.tasks.model import TaskResult, TaskSpec
from agentqueue.worker.agents.base import COUNT_MARGIN, AgentContext
from agentqueue.worker.agents.budget import Budget

SUMMARY_SYSTEM = (
    "You compress the earlier part of a conversation between a user and an AI agent, "
    "tool calls included, into a summary the agent can continue from. Keep decisions, "
    "facts, identifiers, numbers, file names and open questions; drop pleasantries and "
    "verbatim tool output."
)
SUMMARY_ASK = "Summarise the conversation above so that the agent can continue from it."
#: Rounds of "count, then compact further" before giving up.
VERIFY_ROUNDS = 3


class SessionEmpty(AgentQueueError):
    """A step was asked of a session with nothing to answer."""


def policy_for(base: ContextPolicy, record: SessionRecord) -> ContextPolicy:
    """The worker's policy with the session's own overrides."""
    changes: dict[str, Any] = {}
    if record.keep_tool_results is not None:
        changes["keep_tool_results"] = record.keep_tool_results
    if record.keep_turns is not None:
        changes["keep_turns"] = record.keep_turns
    if record.context_ceiling is not None:
        changes["ceiling"] = min(base.ceiling, record.context_ceiling)
    return replace(base, **changes)


class SessionStepAgent:
    async def run(self, spec: TaskSpec, ctx: AgentContext) -> TaskResult:
        if ctx.redis is None:
            raise SessionEmpty("session steps need the worker's Redis")
        params = SessionStepParams.parse(spec.kind, spec.params)
        session_id = params.session_id
        store = SessionStore(ctx.redis, ttl=params.session_ttl)
        record = await store.get(session_id)
        if record.pending_step != ctx.task_id:
            raise SessionBusy(
                f"session {session_id!r} is held by {record.pending_step}, not {ctx.task_id}"
            )
        if record.max_cost_usd is not None:
            # the session's earlier steps, less what earlier attempts of this task spent
            before = record.cost_usd - ctx.spent_at_start
            ctx.guard.add(Budget("session", record.max_cost_usd, before))
        spent0, calls0, usage0 = ctx.spent(), ctx.calls, ctx.usage
        counted: int | None = None
        finished = False
        try:
            result, counted = await self._step(spec, ctx, store, record)
            finished = True
            return result
        finally:
            step_cost = ctx.spent() - spent0
            usage = ctx.usage.model_copy(
                update={
                    "input_tokens": ctx.usage.input_tokens - usage0.input_tokens,
                    "output_tokens": ctx.usage.output_tokens - usage0.output_tokens,
                    "cache_read_tokens": ctx.usage.cache_read_tokens - usage0.cache_read_tokens,
                    "cache_write_tokens": ctx.usage.cache_write_tokens - usage0.cache_write_tokens,
                }
            )
            await store.add_spend(
                session_id,
                cost_usd=step_cost,
                calls=ctx.calls - calls0,
                usage=usage,
                context_tokens=counted,
                finished_step=ctx.task_id if finished else None,
            )
            SESSION_STEP_COST.observe(float(step_cost))

    async def _step(
        self, spec: TaskSpec, ctx: AgentContext, store: SessionStore, record: SessionRecord
    ) -> tuple[TaskResult, int]:
        runtime = ctx.runtime
        policy = policy_for(runtime.context, record)
        tiers = (
            [Tier.FRONTIER, Tier.EFFICIENT]
            if record.tier is TierChoice.AUTO
            else [Tier(record.tier.value)]
        )
        window = min([policy.ceiling, *(runtime.window(t) for t in tiers)])
        limit = ContextLimit(window=window, max_tokens=record.max_tokens, margin=policy.margin)
        items = await store.context(record.id)
        if not items:
            raise SessionEmpty(f"session {record.id!r} has no turns yet: add one first")
        head = runtime.candidates(tiers[0])
        model, provider = (head[0].model, head[0].provider) if head else ("", None)
        counter = runtime.counter
        fixed = counter.scale(estimate_text(record.system), model, provider) if record.system else 0

        async def summarise(part: list[Item]) -> str:
            ask = Item(kind=ItemKind.USER, content=SUMMARY_ASK)
            answer = await ctx.complete(
                CompletionRequest(
                    messages=render([*part, ask]),
                    system=SUMMARY_SYSTEM,
                    tier=Tier.EFFICIENT,
                    max_tokens=policy.summary_tokens,
                    temperature=0,
                ),
                step="compact",
                tier=TierChoice.EFFICIENT,
            )
            return answer.text or "(nothing to summarise)"

        correction = 1.0
        compactions = []
        fitted = Fitted(items, 0, [])
        request: CompletionRequest | None = None
        tokens = 0
        for _ in range(VERIFY_ROUNDS):

            def scale(raw: int, factor: float = correction) -> int:
                return math.ceil(counter.scale(raw, model, provider) * factor)

            fitted = await fit(
                fitted.items,
                fixed_tokens=fixed,
                limit=limit,
                policy=policy,
                summarise=summarise,
                scale=scale,
                task_id=ctx.task_id,
            )
            compactions.extend(fitted.compactions)
            request = CompletionRequest(
                messages=render(fitted.items),
                system=record.system,
                tier=Tier(tiers[0].value),
                max_tokens=record.max_tokens,
                temperature=record.temperature,
            )
            tokens = counter.estimate(request, model, provider)
            if tokens * COUNT_MARGIN <= limit.tokens and not fitted.compactions:
                break  # far below the limit: the provider's count could not change a thing
            tokens = await counter.count(request, model, provider)
            if tokens <= limit.tokens:
                break
            # the count says more than the estimate: correct it and compact further
            correction *= tokens / max(1, fitted.tokens)
        else:
            raise ContextOverflow(
                f"the session's context counts {tokens} tokens after compaction, over the "
                f"limit of {limit.tokens} (model window {limit.window} - max_tokens "
                f"{limit.max_tokens} - margin {limit.margin})"
            )
        assert request is not None
        if compactions:
            await store.replace_context(record.id, fitted.items, compactions, ctx.task_id)
            for c in compactions:
                COMPACTIONS.labels(c.tier).inc()
        answer = await ctx.complete(request, step="session", tier=record.tier, prompt_tokens=tokens)
        reply = await store.add_reply(
            record.id,
            Item(kind=ItemKind.ASSISTANT, content=answer.text or "(empty reply)"),
            ctx.task_id,
        )
        result = TaskResult(
            text=answer.text,
            provider=answer.provider,
            model=answer.model,
            data={
                "session_id": record.id,
                "reply_seq": reply.seq,
                "context_tokens": tokens,
                "limit_tokens": limit.tokens,
                "compactions": [c.model_dump(mode="json") for c in compactions],
            },
        )
        return result, tokens

"""``map_reduce``: fan a question out into sub-questions answered in parallel, then
synthesise — the design document's research agent.

Parameters (``params``, :class:`~agentqueue.core.tasks.agent_params.MapReduceParams`,
checked at submission by the same model): ``questions`` — the sub-questions (else a
``plan`` step asks the model for at most ``max_questions`` of them, one per line);
``map_tier`` / ``reduce_tier`` (``frontier``, ``efficient`` or ``auto``; default: the
task's tier); ``map_max_tokens``; ``max_parallel``.
The sub-questions are independent, so their calls overlap: the task takes about as long
as the slowest of them plus the synthesis, not their sum.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from agentqueue.core.llm.messages import ChatMessage, Completion, CompletionRequest
from agentqueue.core.tasks.agent_params import MapReduceParams
from agentqueue.core.tasks.model import TaskResult, TaskSpec
from agentqueue.worker.agents.base import AgentContext
from agentqueue.worker.agents.graph import Graph, llm_step

MAP_SYSTEM = (
    "You answer one sub-question of a larger research question. Answer the sub-question "
    "only, concisely, with the facts another writer needs."
)
REDUCE_SYSTEM = (
    "You synthesise findings on sub-questions into one well-organised answer to the "
    "overall question. Use the findings; say where they disagree or fall short."
)
PLAN_SYSTEM = (
    "Split the question into independent sub-questions that together answer it. Reply "
    "with the sub-questions only, one per line, no numbering."
)


def _question(spec: TaskSpec) -> str:
    users = [m.content for m in spec.input.messages if m.role == "user"]
    return users[-1] if users else spec.input.messages[-1].content


def _lines(text: str, most: int) -> list[str]:
    lines = [line.strip(" -*\t0123456789.)") for line in text.splitlines()]
    return [line for line in lines if line][:most]


class MapReduceAgent:
    async def run(self, spec: TaskSpec, ctx: AgentContext) -> TaskResult:
        params = MapReduceParams.parse(spec.kind, spec.params)
        question = _question(spec)
        base = spec.input
        questions = list(params.questions or [])
        if not questions:
            plan = await ctx.complete(
                CompletionRequest(
                    messages=[ChatMessage(role="user", content=question)],
                    system=PLAN_SYSTEM,
                    tier=base.tier,
                    max_tokens=512,
                    temperature=base.temperature,
                    cache=base.cache,
                ),
                step="plan",
            )
            questions = _lines(plan.text, params.max_questions) or [question]
        map_tier, reduce_tier = params.map_tier, params.reduce_tier

        def ask(i: int, sub: str) -> CompletionRequest:
            content = f"Overall question:\n{question}\n\nSub-question {i + 1}: {sub}"
            return CompletionRequest(
                messages=[ChatMessage(role="user", content=content)],
                system=f"{base.system}\n\n{MAP_SYSTEM}" if base.system else MAP_SYSTEM,
                tier=base.tier,
                model=base.model,
                max_tokens=params.map_max_tokens or base.max_tokens,
                temperature=base.temperature,
                cache=base.cache,
            )

        def synthesise(found: Mapping[str, Any]) -> CompletionRequest:
            parts = [
                f"### Sub-question {i + 1}: {sub}\n{found[f'map:{i}'].text}"
                for i, sub in enumerate(questions)
            ]
            content = f"Overall question:\n{question}\n\nFindings:\n\n" + "\n\n".join(parts)
            return CompletionRequest(
                messages=[ChatMessage(role="user", content=content)],
                system=f"{base.system}\n\n{REDUCE_SYSTEM}" if base.system else REDUCE_SYSTEM,
                tier=base.tier,
                model=base.model,
                max_tokens=base.max_tokens,
                temperature=base.temperature,
                cache=base.cache,
            )

        graph = Graph(max_parallel=params.max_parallel or ctx.runtime.max_parallel)

        def asker(i: int, sub: str) -> Callable[[Mapping[str, Any]], CompletionRequest]:
            return lambda _inputs: ask(i, sub)

        for i, sub in enumerate(questions):
            graph.add(f"map:{i}", llm_step(ctx, asker(i, sub), step=f"map:{i}", tier=map_tier))
        graph.add(
            "reduce",
            llm_step(ctx, synthesise, step="reduce", tier=reduce_tier),
            deps=[f"map:{i}" for i in range(len(questions))],
        )
        results = await graph.run()
        answer: Completion = results["reduce"]
        return TaskResult(
            text=answer.text,
            provider=answer.provider,
            model=answer.model,
            data={
                "questions": questions,
                "answers": [results[f"map:{i}"].text for i in range(len(questions))],
                "steps": {
                    name: {"started": t.started, "finished": t.finished}
                    for name, t in graph.timings.items()
                },
            },
        )

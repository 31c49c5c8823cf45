"""Sessions driven through the real runner against the simulator (whose window is 200,000
tokens and which answers 400 above it, like the providers).

A session driven far past 200k tokens keeps working: every request stays under the
window, tool calls stay with their results, every compaction is logged, the transcript
keeps everything. The hopeless case fails with a clear error and no provider call.
"""

from __future__ import annotations

import contextlib
from decimal import Decimal

import pytest
import redis.asyncio as aioredis

from agentqueue.core.calls.fallback import FallbackChain
from agentqueue.core.llm.messages import ChatMessage, CompletionRequest
from agentqueue.core.llm.tokenizers import counter_named
from agentqueue.core.llm.tokens import estimate_text
from agentqueue.core.sessions import Item, ItemKind, SessionRecord, SessionStore
from agentqueue.core.sessions.context import ContextPolicy, pairs_intact
from agentqueue.core.tasks.model import TaskRecord, TaskSpec, TaskState
from agentqueue.core.tasks.store import TaskStore
from agentqueue.worker.agents.runtime import AgentRuntime
from agentqueue.worker.runner import TaskFailed, TaskRunner
from tests.worker.agent_helpers import ok_calls

WINDOW = 200_000
#: Long sessions send millions of tokens a minute: lift the simulator's per-key TPM.
UNLIMITED = {"all": {"tpm": 1_000_000_000, "rpm": 100_000}}


@pytest.fixture
def sessions(aredis: aioredis.Redis) -> SessionStore:
    return SessionStore(aredis, ttl=600)


async def step(
    runner: TaskRunner, store: TaskStore, sessions: SessionStore, session_id: str
) -> TaskRecord:
    """What ``POST /v1/sessions/{id}/steps`` and a worker do, in-process."""
    task = TaskRecord(
        tenant="t",
        spec=TaskSpec(
            kind="session_step",
            input=CompletionRequest(messages=[ChatMessage(role="user", content="(step)")]),
            params={"session_id": session_id},
        ),
    )
    await sessions.begin_step(session_id, task.id)
    await store.create(task)
    with contextlib.suppress(TaskFailed):
        await runner.run(task.id, retries_done=0, retries_left=0)
    return await store.get(task.id)


def round_items(r: int) -> list[Item]:
    """One agent round: a question (a long one every third round), a tool call and its
    large result (~15k tokens)."""
    question = f"Round {r}: look this up and tell me what changed. " + "q" * (
        24_000 if r % 3 == 0 else 4_000
    )
    return [
        Item(kind=ItemKind.USER, content=question),
        Item(kind=ItemKind.TOOL_CALL, call_id=f"call-{r}", tool="fetch", content=f'{{"r": {r}}}'),
        Item(
            kind=ItemKind.TOOL_RESULT,
            call_id=f"call-{r}",
            tool="fetch",
            content=f"result {r}: " + "data " * 12_000,
        ),
    ]


@pytest.mark.slow
async def test_a_session_driven_past_200k_tokens_keeps_working(
    runner: TaskRunner, store: TaskStore, sessions: SessionStore, simulator
) -> None:
    simulator.configure(UNLIMITED)
    s = await sessions.create(
        SessionRecord(tenant="t", system="You are a careful research agent. " * 40, max_tokens=512)
    )
    await sessions.append(
        s.id, [Item(kind=ItemKind.USER, content="Project brief: " + "b" * 8_000, pinned=True)]
    )
    rounds = 30
    for r in range(rounds):
        await sessions.append(s.id, round_items(r))
        task = await step(runner, store, sessions, s.id)
        assert task.state is TaskState.SUCCEEDED, task.error
        context = await sessions.context(s.id)
        assert pairs_intact(context)
        assert context[-1].kind is ItemKind.ASSISTANT
        assert task.result is not None and task.result.data["context_tokens"] < WINDOW

    transcript = await sessions.transcript(s.id)
    total = sum(estimate_text(i.content) for i in transcript)
    assert total > 2.5 * WINDOW  # far past the window, kept whole
    assert len(transcript) == 1 + rounds * 4  # every turn and every reply

    calls = simulator.stats()["calls"]
    assert calls and all(c["status"] == 200 for c in calls)  # never a provider 400
    limit = WINDOW - 512
    assert all(c["input_tokens"] <= limit for c in calls)
    assert max(c["input_tokens"] for c in ok_calls(simulator)) > WINDOW // 3

    log = await sessions.compactions(s.id)
    record = await sessions.get(s.id)
    assert {c.tier for c in log} == {"elide_tool_results", "summarise"}
    assert record.compactions == len(log) and record.steps == rounds
    assert all(c.after_tokens < c.before_tokens for c in log)
    assert len(log) < rounds  # large steps: not a compaction on every turn
    assert record.calls == len(calls) and record.cost_usd > 0

    # the pinned brief survived every summary; elided results point at their full text
    context = await sessions.context(s.id)
    assert context[0].kind is ItemKind.SUMMARY
    assert any(i.pinned and i.content.startswith("Project brief") for i in context)
    for item in context:
        if item.elided:
            assert f"item {item.seq} of this session's transcript" in item.content
            assert transcript[item.seq].content.startswith("result ")
            assert transcript[item.seq].call_id == item.call_id

    # each summary call was recorded on its step's task as a `compact` step
    summarised = [c for c in log if c.tier == "summarise"]
    task = await store.get(summarised[0].task_id or "")
    assert "compact" in [c.step for c in task.calls] and task.calls[-1].step == "session"


async def test_the_hopeless_case_fails_clearly_without_calling_a_provider(
    runner: TaskRunner, store: TaskStore, sessions: SessionStore, simulator
) -> None:
    s = await sessions.create(SessionRecord(tenant="t"))
    await sessions.append(s.id, [Item(kind=ItemKind.USER, content="w" * 900_000)])
    task = await step(runner, store, sessions, s.id)
    assert task.state is TaskState.FAILED and task.error is not None
    assert task.error.type == "ContextOverflow" and not task.error.retryable
    assert "latest turn 450004 tokens" in task.error.message  # o200k_base: 2 w's a token
    assert "over the limit of" in task.error.message
    assert simulator.stats()["providers"] == {}  # nothing sent, so no provider 400


async def test_without_context_management_the_same_session_stops_at_the_window(
    store: TaskStore, chain: FallbackChain, sessions: SessionStore, simulator
) -> None:
    """The baseline: compaction off, only the final check — the step that would overflow
    fails with our error before the provider's 400."""
    simulator.configure(UNLIMITED)
    runtime = AgentRuntime.for_completer(chain)
    runtime.context = ContextPolicy(enabled=False)
    plain = TaskRunner(store, chain, runtime=runtime)
    s = await sessions.create(SessionRecord(tenant="t", max_tokens=512))
    states = []
    for r in range(14):
        await sessions.append(s.id, round_items(r))
        task = await step(plain, store, sessions, s.id)
        states.append(task.state)
        if task.state is TaskState.FAILED:
            assert task.error is not None and task.error.type == "ContextOverflow"
            await sessions.release_step(s.id, task.id)
            break
    assert TaskState.FAILED in states and states[0] is TaskState.SUCCEEDED
    assert all(c["status"] == 200 for c in simulator.stats()["calls"])


async def test_a_session_budget_stops_its_steps(
    runner: TaskRunner, store: TaskStore, sessions: SessionStore, simulator
) -> None:
    limit = Decimal("0.02")
    s = await sessions.create(SessionRecord(tenant="t", max_tokens=256, max_cost_usd=limit))
    failed = None
    for r in range(20):
        await sessions.append(s.id, [Item(kind=ItemKind.USER, content=f"turn {r} " + "x" * 4_000)])
        task = await step(runner, store, sessions, s.id)
        if task.state is TaskState.FAILED:
            failed = task
            break
    assert failed is not None and failed.error is not None
    assert failed.error.type == "BudgetExceeded"
    assert "session budget of $0.02" in failed.error.message
    record = await sessions.get(s.id)
    assert 0 < record.cost_usd <= limit and record.steps >= 1


#: A Japanese agent round's text: the simulated Anthropic counts it with cl100k_base, about
#: 1.4 times our o200k_base stand-in, so a context manager trusting the stand-in alone would
#: send sessions past the window.
JAPANESE = (
    "東京本社の第三四半期の売上報告によると、新製品の販売は予想を上回ったが、物流費の上昇が"
    "利益率を圧迫している。来月の会議までに、地域別の在庫状況と配送の遅延について調べること。"
)


def japanese_round(r: int) -> list[Item]:
    """One agent round in Japanese: a question, a tool call and a large result."""
    return [
        Item(kind=ItemKind.USER, content=f"第{r}回: この資料を調べて、変更点を教えてください。"),
        Item(kind=ItemKind.TOOL_CALL, call_id=f"call-{r}", tool="fetch", content=f'{{"r": {r}}}'),
        Item(
            kind=ItemKind.TOOL_RESULT,
            call_id=f"call-{r}",
            tool="fetch",
            content=f"結果 {r}: " + JAPANESE * 160,
        ),
    ]


@pytest.mark.slow
async def test_a_japanese_session_is_compacted_before_the_window_never_a_400(
    runner: TaskRunner, store: TaskStore, sessions: SessionStore, simulator
) -> None:
    simulator.configure(UNLIMITED)
    s = await sessions.create(SessionRecord(tenant="t", max_tokens=512))
    rounds = 16
    for r in range(rounds):
        await sessions.append(s.id, japanese_round(r))
        task = await step(runner, store, sessions, s.id)
        assert task.state is TaskState.SUCCEEDED, task.error
    calls = simulator.stats()["calls"]
    assert calls and all(c["status"] == 200 for c in calls)  # never a provider 400
    assert all(c["input_tokens"] <= WINDOW - 512 for c in calls)
    assert max(c["input_tokens"] for c in ok_calls(simulator)) > WINDOW // 2
    transcript = await sessions.transcript(s.id)
    provider = counter_named("cl100k_base")  # how the simulated Anthropic counts
    assert sum(estimate_text(i.content, provider) for i in transcript) > 1.3 * WINDOW
    assert await sessions.compactions(s.id)  # compacted, not refused

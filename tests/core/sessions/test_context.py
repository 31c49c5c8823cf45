"""Tiered context compaction: elide old tool results, summarise older turns, or fail clearly.

The summariser is a real function here (it writes a short digest of what it is given
and records every call), so the tests see exactly what would be sent to the model.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentqueue.core.base.errors import ContextOverflow
from agentqueue.core.sessions.context import (
    ContextLimit,
    ContextPolicy,
    fit,
    item_tokens,
    pairs_intact,
    render,
    turns,
    units,
)
from agentqueue.core.sessions.models import Item, ItemKind

LIMIT = ContextLimit(window=20_000, max_tokens=1_000, margin=500)  # 18,500 tokens
POLICY = ContextPolicy(keep_tool_results=2, keep_turns=2, summary_tokens=200, chunk_tokens=6_000)


class Summariser:
    def __init__(self) -> None:
        self.calls: list[list[Item]] = []

    async def __call__(self, items: list[Item]) -> str:
        self.calls.append(items)
        assert pairs_intact(items), "the summariser was given half a tool call"
        return f"digest of {len(items)} items"


def session(rounds: int, *, result_chars: int = 8_000, user_chars: int = 400) -> list[Item]:
    """Rounds of: user asks, the agent calls a tool, gets its result, answers."""
    items: list[Item] = []
    for r in range(rounds):
        items += [
            Item(kind=ItemKind.USER, content=f"question {r} " + "u" * user_chars),
            Item(kind=ItemKind.TOOL_CALL, call_id=f"c{r}", tool="search", content=f'{{"q": {r}}}'),
            Item(
                kind=ItemKind.TOOL_RESULT,
                call_id=f"c{r}",
                tool="search",
                content="r" * result_chars,
            ),
            Item(kind=ItemKind.ASSISTANT, content=f"answer {r}"),
        ]
    return [i.model_copy(update={"seq": n}) for n, i in enumerate(items)]


async def test_a_context_under_the_trigger_is_left_alone() -> None:
    items = session(3)
    summarise = Summariser()
    fitted = await fit(items, fixed_tokens=100, limit=LIMIT, policy=POLICY, summarise=summarise)
    assert fitted.items == items and fitted.compactions == [] and summarise.calls == []


async def test_old_tool_results_are_elided_first_and_point_to_the_transcript() -> None:
    items = session(7)  # ~14.5k tokens: over the trigger (0.8 x 18.5k), tool output is most
    summarise = Summariser()
    fitted = await fit(items, fixed_tokens=100, limit=LIMIT, policy=POLICY, summarise=summarise)
    assert summarise.calls == []  # eliding was enough: under the target (half the limit)
    [elide] = fitted.compactions
    assert elide.tier == "elide_tool_results"
    results = [i for i in fitted.items if i.kind is ItemKind.TOOL_RESULT]
    assert [i.elided for i in results] == [True] * 5 + [False] * 2
    assert elide.items == [i.seq for i in results[:5]]
    assert f"item {results[0].seq} of this session's transcript" in results[0].content
    assert elide.after_tokens <= POLICY.target * LIMIT.tokens < elide.before_tokens
    assert pairs_intact(fitted.items) and len(fitted.items) == len(items)


async def test_older_turns_are_summarised_keeping_pinned_items_and_the_last_turns() -> None:
    pinned = Item(seq=0, kind=ItemKind.USER, content="the spec: " + "p" * 2_000, pinned=True)
    items = [
        pinned,
        *(i.model_copy(update={"seq": i.seq + 1}) for i in session(12, user_chars=3_000)),
    ]
    summarise = Summariser()
    fitted = await fit(items, fixed_tokens=300, limit=LIMIT, policy=POLICY, summarise=summarise)
    tiers = [c.tier for c in fitted.compactions]
    assert tiers == ["elide_tool_results", "summarise"]
    summary, kept_pin, *rest = fitted.items
    assert summary.kind is ItemKind.SUMMARY and summary.content.startswith("digest of")
    assert kept_pin == pinned
    # the last two turns, verbatim (their newest tool results still whole)
    assert rest == [i for t in turns(items)[-2:] for i in t]
    assert summary.covers == (1, rest[0].seq - 1)
    assert fitted.compactions[1].items == list(range(1, rest[0].seq))
    assert fitted.tokens <= POLICY.target * LIMIT.tokens  # one large step, not a trim
    assert pairs_intact(fitted.items)


async def test_a_long_history_is_summarised_in_chunks_then_combined() -> None:
    items = session(40, result_chars=400, user_chars=2_400)  # no tool output worth eliding
    summarise = Summariser()
    fitted = await fit(items, fixed_tokens=0, limit=LIMIT, policy=POLICY, summarise=summarise)
    assert len(summarise.calls) >= 3  # chunks of at most 6k tokens, then the combination
    assert all(item_tokens(call) <= POLICY.chunk_tokens + 1_000 for call in summarise.calls)
    assert fitted.compactions[-1].summary_calls == len(summarise.calls)
    assert summarise.calls[-1][0].kind is ItemKind.SUMMARY


async def test_the_hopeless_case_fails_clearly_and_never_returns_an_oversized_context() -> None:
    items = [*session(2), Item(seq=8, kind=ItemKind.USER, content="z" * 100_000)]
    with pytest.raises(ContextOverflow) as info:
        await fit(items, fixed_tokens=100, limit=LIMIT, policy=POLICY, summarise=Summariser())
    message = str(info.value)
    assert "over the limit of 18500" in message and "latest turn" in message


async def test_disabled_policy_only_checks() -> None:
    off = ContextPolicy(enabled=False)
    items = session(12)
    with pytest.raises(ContextOverflow):
        await fit(items, fixed_tokens=0, limit=LIMIT, policy=off, summarise=Summariser())


def test_render_merges_roles_and_starts_with_a_user_turn() -> None:
    items = [
        Item(kind=ItemKind.ASSISTANT, content="earlier answer"),
        Item(kind=ItemKind.TOOL_CALL, call_id="a", tool="t", content="{}"),
        Item(kind=ItemKind.TOOL_RESULT, call_id="a", tool="t", content="42"),
        Item(kind=ItemKind.USER, content="next"),
    ]
    messages = render(items)
    assert [m.role for m in messages] == ["user", "assistant", "user"]
    assert "[tool call a] t: {}" in messages[1].content
    assert messages[2].content == "[tool result a] 42\n\nnext"


def test_units_keep_a_call_with_its_result() -> None:
    items = session(2)
    grouped = units(items)
    assert [[i.kind.value for i in u] for u in grouped[:3]] == [
        ["user"],
        ["tool_call", "tool_result"],
        ["assistant"],
    ]


@st.composite
def sessions(draw: st.DrawFn) -> list[Item]:
    items: list[Item] = []
    for r in range(draw(st.integers(1, 30))):
        kind = draw(st.sampled_from(["user", "assistant", "tool", "pinned"]))
        size = draw(st.integers(1, 12_000) | st.sampled_from([30_000, 80_000]))
        if kind == "tool":
            items.append(Item(kind=ItemKind.TOOL_CALL, call_id=f"c{r}", tool="t", content="{}"))
            items.append(
                Item(kind=ItemKind.TOOL_RESULT, call_id=f"c{r}", tool="t", content="x" * size)
            )
        else:
            role = ItemKind.ASSISTANT if kind == "assistant" else ItemKind.USER
            items.append(
                Item(kind=role, content="y" * size, pinned=kind == "pinned" and size < 3000)
            )
    return [i.model_copy(update={"seq": n}) for n, i in enumerate(items)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items=sessions(), fixed=st.integers(0, 3_000))
async def test_any_session_fits_with_pairs_intact_or_fails_clearly(
    items: list[Item], fixed: int
) -> None:
    try:
        fitted = await fit(
            items, fixed_tokens=fixed, limit=LIMIT, policy=POLICY, summarise=Summariser()
        )
    except ContextOverflow:
        return
    assert fitted.tokens == fixed + item_tokens(fitted.items) <= LIMIT.tokens
    assert pairs_intact(fitted.items)
    # order kept; the newest turn always verbatim; pinned items never lost
    seqs = [i.seq for i in fitted.items if i.seq >= 0]
    assert seqs == sorted(seqs)
    assert [i.seq for i in turns(items)[-1]] == [i.seq for i in turns(fitted.items)[-1]]
    assert {i.seq for i in items if i.pinned} <= {i.seq for i in fitted.items}
    for message in render(fitted.items):
        assert message.content

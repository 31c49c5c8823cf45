"""Context management: keep a session's next prompt under the model's window, in tiers.

A long agent session outgrows any context window; sent whole, it fails with the
provider's 400. Before every call the context is measured and, past a trigger, compacted
— in large steps, since every rewrite invalidates the provider's prompt cache from the
first changed item on:

1. *elide* old tool results: all but the last ``keep_tool_results`` become a pointer to
   their full text in the transcript (tool output is most of a long agent run's tokens
   and is rarely needed verbatim again);
2. *summarise* older turns with an efficient-tier model: the system prompt, pinned items
   and the last ``keep_turns`` turns stay verbatim, everything older becomes one summary
   (earlier summaries included). A tool call and its result are one unit: both stay or
   both go;
3. if still over the limit — what cannot be compacted is too large on its own — fail
   with :class:`ContextOverflow`, never the provider's 400.

Each tier stops the process once the context is under ``target`` of the limit. Every
compaction is returned as a :class:`Compaction` for the session's log. The function is
pure but for the ``summarise`` callable it is given (an LLM call in the worker).
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from agentqueue.core.base.errors import ContextOverflow
from agentqueue.core.llm.messages import ChatMessage
from agentqueue.core.llm.tokens import estimate_text
from agentqueue.core.sessions.models import Compaction, Item, ItemKind

#: Summarises items (older turns, or earlier partial summaries) into text.
Summariser = Callable[[list[Item]], Awaitable[str]]
#: Calibrates a raw local estimate into the target model's tokens.
Scale = Callable[[int], int]


@dataclass(frozen=True)
class ContextPolicy:
    """When and how far to compact; see the module docstring. Tokens unless said."""

    #: Default window ceiling: no prompt larger than this, whatever the model allows.
    ceiling: int = 200_000
    keep_tool_results: int = 3
    keep_turns: int = 4
    #: Compact when the prompt passes this share of the limit…
    trigger: float = 0.8
    #: …down to this share of it.
    target: float = 0.5
    #: Output tokens a summary may take.
    summary_tokens: int = 1024
    #: Most tokens sent to the summariser in one call (longer histories are chunked).
    chunk_tokens: int = 60_000
    #: Tokens left free below the window for estimate error.
    margin: int = 2_000
    #: Off: no compaction, only the final check (the benchmark's baseline).
    enabled: bool = True

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> ContextPolicy:
        """``AGENTQUEUE_SESSION_<FIELD>`` overrides each field (e.g. ``..._KEEP_TURNS=6``)."""
        env = dict(os.environ) if env is None else env
        values: dict[str, object] = {}
        for name, default in cls().__dict__.items():
            raw = env.get(f"AGENTQUEUE_SESSION_{name.upper()}")
            if raw is None:
                continue
            if isinstance(default, bool):
                values[name] = raw.lower() in ("1", "true", "yes")
            else:
                values[name] = type(default)(raw)
        return cls(**values)  # type: ignore[arg-type]


@dataclass(frozen=True)
class ContextLimit:
    """The most prompt tokens one call may send, and where that number comes from."""

    window: int
    max_tokens: int
    margin: int

    @property
    def tokens(self) -> int:
        return self.window - self.max_tokens - self.margin


def item_tokens(items: Sequence[Item]) -> int:
    """Raw local estimate of the items as rendered (an upper bound: merging saves a bit)."""
    return sum(estimate_text(i.render()) for i in items)


def render(items: Sequence[Item]) -> list[ChatMessage]:
    """The items as provider turns: consecutive items of one role share a turn, and the
    conversation starts with a user turn (as every provider requires)."""
    turns: list[tuple[str, list[str]]] = []
    for item in items:
        if turns and turns[-1][0] == item.role:
            turns[-1][1].append(item.render())
        else:
            turns.append((item.role, [item.render()]))
    if turns and turns[0][0] == "assistant":
        turns.insert(0, ("user", ["(conversation continues)"]))
    return [ChatMessage(role=role, content="\n\n".join(texts)) for role, texts in turns]  # type: ignore[arg-type]


def units(items: Sequence[Item]) -> list[list[Item]]:
    """Items grouped so that a tool call and its result are one unit (order kept)."""
    out: list[list[Item]] = []
    open_calls: dict[str, list[Item]] = {}
    for item in items:
        if item.kind is ItemKind.TOOL_RESULT and item.call_id in open_calls:
            open_calls.pop(item.call_id).append(item)
            continue
        unit = [item]
        out.append(unit)
        if item.kind is ItemKind.TOOL_CALL and item.call_id:
            open_calls[item.call_id] = unit
    return out


def turns(items: Sequence[Item]) -> list[list[Item]]:
    """Units grouped into turns: a turn starts at each user message (or summary)."""
    out: list[list[Item]] = []
    for unit in units(items):
        if not out or unit[0].kind in (ItemKind.USER, ItemKind.SUMMARY):
            out.append([])
        out[-1].extend(unit)
    return out


def pairs_intact(items: Sequence[Item]) -> bool:
    """Every tool call has its result right in the context, and every result its call."""
    calls = [i.call_id for i in items if i.kind is ItemKind.TOOL_CALL]
    results = [i.call_id for i in items if i.kind is ItemKind.TOOL_RESULT]
    return sorted(c or "" for c in calls) == sorted(r or "" for r in results)


def _pointer(item: Item) -> Item:
    text = (
        f"[elided: {len(item.content)} characters, about {estimate_text(item.content)} "
        f"tokens; the full result is item {item.seq} of this session's transcript]"
    )
    return item.model_copy(update={"content": text, "elided": True})


def _covers(items: Sequence[Item]) -> tuple[int, int]:
    seqs = [i.seq for i in items if i.seq >= 0]
    for i in items:
        if i.covers:
            seqs.extend(i.covers)
    return (min(seqs), max(seqs)) if seqs else (0, 0)


def _clip(item: Item, tokens: int) -> Item:
    """An item shortened to about ``tokens`` (head and tail) for the summariser only."""
    chars = max(400, tokens * 4)
    if len(item.content) <= chars:
        return item
    half = chars // 2
    cut = len(item.content) - chars
    text = f"{item.content[:half]}\n[… {cut} characters …]\n{item.content[-half:]}"
    return item.model_copy(update={"content": text})


async def _summarise(
    items: list[Item], policy: ContextPolicy, summarise: Summariser
) -> tuple[str, int]:
    """One summary of ``items``, chunked to ``chunk_tokens`` per call; (text, calls)."""
    chunks: list[list[Item]] = [[]]
    size = 0
    for unit in units(items):
        unit = [_clip(i, policy.chunk_tokens // 2) for i in unit]
        tokens = item_tokens(unit)
        if chunks[-1] and size + tokens > policy.chunk_tokens:
            chunks.append([])
            size = 0
        chunks[-1].extend(unit)
        size += tokens
    partial = [await summarise(chunk) for chunk in chunks]
    if len(partial) == 1:
        return partial[0], 1
    joined = [
        Item(kind=ItemKind.SUMMARY, content=text, covers=_covers(c))
        for text, c in zip(partial, chunks, strict=True)
    ]
    return await summarise(joined), len(partial) + 1


@dataclass
class Fitted:
    items: list[Item]
    tokens: int
    compactions: list[Compaction]


@dataclass(frozen=True)
class _Measure:
    """How :func:`fit` measures a context, and logs a compaction, in every tier.

    Kept in one object so that each tier counts tokens alike (calibrated items plus
    what is sent besides them) and records its :class:`Compaction` against the same
    limit, target and task.
    """

    fixed_tokens: int
    scale: Scale
    limit_tokens: int
    target_tokens: int
    task_id: str | None

    def total(self, items: Sequence[Item]) -> int:
        return self.fixed_tokens + self.scale(item_tokens(items))

    def compaction(
        self,
        tier: Literal["elide_tool_results", "summarise"],
        before: int,
        after: int,
        items: list[int],
        summary_calls: int = 0,
    ) -> Compaction:
        return Compaction(
            tier=tier,
            before_tokens=before,
            after_tokens=after,
            limit_tokens=self.limit_tokens,
            target_tokens=self.target_tokens,
            items=items,
            summary_calls=summary_calls,
            task_id=self.task_id,
        )


async def fit(
    items: list[Item],
    *,
    fixed_tokens: int,
    limit: ContextLimit,
    policy: ContextPolicy,
    summarise: Summariser,
    scale: Scale = lambda raw: raw,
    task_id: str | None = None,
) -> Fitted:
    """The context to send: ``items`` as they are, or compacted (see the module docstring).

    ``fixed_tokens`` counts what is sent besides the items (the system prompt), already
    calibrated. Raises :class:`ContextOverflow` when even compaction cannot fit.
    """
    max_tokens = limit.tokens
    measure = _Measure(fixed_tokens, scale, max_tokens, int(max_tokens * policy.target), task_id)
    now = measure.total(items)
    compactions: list[Compaction] = []
    if not policy.enabled or now <= policy.trigger * max_tokens:
        _check(items, now, fixed_tokens, limit, scale, compacted=False)
        return Fitted(items, now, compactions)

    # Tier 1: old tool results become pointers to the transcript.
    items, compaction = _elide_tool_results(items, now, policy, measure)
    if compaction is not None:
        compactions.append(compaction)
        now = compaction.after_tokens
    if now <= measure.target_tokens:
        return Fitted(items, now, compactions)

    # Tier 2: everything older than the last turns (pinned items aside) becomes a summary.
    items, compaction = await _summarise_older_turns(items, now, policy, measure, summarise)
    if compaction is not None:
        compactions.append(compaction)
        now = compaction.after_tokens

    # Tier 3: what is left cannot be compacted; it fits, or the step fails here.
    _check(items, now, fixed_tokens, limit, scale)
    return Fitted(items, now, compactions)


def _elide_tool_results(
    items: list[Item], now: int, policy: ContextPolicy, measure: _Measure
) -> tuple[list[Item], Compaction | None]:
    """Tier 1: all but the last ``keep_tool_results`` unpinned tool results become
    pointers to the transcript; the items and the compaction (None: nothing to elide).

    Its own step because it is the cheap tier (no LLM call) and the one that alone
    usually brings a long agent run back under target.
    """
    results = [i for i in items if i.kind is ItemKind.TOOL_RESULT and not i.elided and not i.pinned]
    keep = policy.keep_tool_results
    old = {i.seq for i in (results[:-keep] if keep > 0 else results)}
    if not old:
        return items, None
    items = [_pointer(i) if i.seq in old and i.kind is ItemKind.TOOL_RESULT else i for i in items]
    return items, measure.compaction("elide_tool_results", now, measure.total(items), sorted(old))


def _turns_to_keep(grouped: list[list[Item]], policy: ContextPolicy, measure: _Measure) -> int:
    """How many of the last turns tier 2 keeps verbatim: the most, up to ``keep_turns``,
    that fit under target next to a summary and the pinned items — at least one.

    Apart from the summarising itself because it is a search (most turns first) whose
    rule is easy to lose among the rewriting.
    """
    summary_cost = measure.fixed_tokens + measure.scale(policy.summary_tokens + 64)
    for k in range(min(policy.keep_turns, len(grouped)), 0, -1):
        kept = [i for t in grouped[-k:] for i in t]
        pinned = [i for t in grouped[:-k] for i in t if i.pinned]
        if summary_cost + measure.scale(item_tokens(pinned + kept)) <= measure.target_tokens:
            return k
    return 1


async def _summarise_older_turns(
    items: list[Item], now: int, policy: ContextPolicy, measure: _Measure, summarise: Summariser
) -> tuple[list[Item], Compaction | None]:
    """Tier 2: everything older than the kept turns, pinned items aside, becomes one
    summary; the items and the compaction (None: nothing older to summarise).

    Its own step because it is the expensive tier — LLM calls through ``summarise`` —
    and the one place that rewrites the context's head.
    """
    grouped = turns(items)
    keep_turns = _turns_to_keep(grouped, policy, measure)
    older = [i for t in grouped[:-keep_turns] for i in t]
    to_summarise = [i for i in older if not i.pinned]
    if not to_summarise:
        return items, None
    text, calls = await _summarise(to_summarise, policy, summarise)
    summary = Item(kind=ItemKind.SUMMARY, content=text, covers=_covers(to_summarise))
    kept = [i for t in grouped[-keep_turns:] for i in t]
    items = [summary, *[i for i in older if i.pinned], *kept]
    return items, measure.compaction(
        "summarise",
        now,
        measure.total(items),
        sorted({i.seq for i in to_summarise if i.seq >= 0}),
        summary_calls=calls,
    )


def _check(
    items: Sequence[Item],
    now: int,
    fixed: int,
    limit: ContextLimit,
    scale: Scale,
    *,
    compacted: bool = True,
) -> None:
    """Tier 3: raise :class:`ContextOverflow` if the context is still over the limit,
    naming what could not be compacted, rather than let the provider answer 400."""
    if now <= limit.tokens:
        return
    grouped = turns(items)
    last = scale(item_tokens(grouped[-1])) if grouped else 0
    pinned = scale(item_tokens([i for i in items if i.pinned]))
    raise ContextOverflow(
        f"the session's context needs about {now} tokens"
        f"{' after compaction' if compacted else ''}, over the limit "
        f"of {limit.tokens} (model window {limit.window} - max_tokens {limit.max_tokens} - "
        f"margin {limit.margin}); what cannot be compacted: system prompt {fixed}, pinned "
        f"items {pinned}, latest turn {last} tokens. Shorten the latest turn, unpin items "
        "or lower max_tokens"
    )

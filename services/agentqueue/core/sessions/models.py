"""What a session is made of: its record, its items, and the log of its compactions.

A session is a conversation that outlives one call. Its *transcript* keeps every item
ever added, verbatim and forever (for the session's lifetime); its *context* is what the
next call sends, and context management rewrites it. Tools are a session-level concept
here, rendered into plain text turns for the providers (our adapters speak text): a
``tool_call`` item and the ``tool_result`` item with the same ``call_id`` form one unit
that compaction keeps or drops whole, never split.
"""

from __future__ import annotations

import time
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from agentqueue.core.base.ids import random_id
from agentqueue.core.llm.messages import Usage
from agentqueue.core.llm.routing import TierChoice


class ItemKind(StrEnum):
    USER = "user"
    ASSISTANT = "assistant"
    TOOL_CALL = "tool_call"
    TOOL_RESULT = "tool_result"
    #: Written by compaction: stands for older items (their transcript seqs in ``covers``).
    SUMMARY = "summary"


class Item(BaseModel):
    """One entry of a session's transcript or context."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Position in the transcript (0-based); -1 for a summary, which is not in it.
    seq: int = -1
    kind: ItemKind
    content: str
    #: Pairs a tool call with its result.
    call_id: str | None = None
    #: The tool's name (tool calls and results).
    tool: str | None = None
    #: Never summarised away (instructions, a document the whole session needs).
    pinned: bool = False
    #: A tool result replaced by a pointer to its full text in the transcript.
    elided: bool = False
    #: A summary's transcript seqs, first and last.
    covers: tuple[int, int] | None = None

    @property
    def role(self) -> Literal["user", "assistant"]:
        """The provider role this item is rendered as."""
        if self.kind in (ItemKind.ASSISTANT, ItemKind.TOOL_CALL):
            return "assistant"
        return "user"

    def render(self) -> str:
        """The item as text in a provider turn."""
        if self.kind is ItemKind.TOOL_CALL:
            return f"[tool call {self.call_id}] {self.tool}: {self.content}"
        if self.kind is ItemKind.TOOL_RESULT:
            return f"[tool result {self.call_id}] {self.content}"
        if self.kind is ItemKind.SUMMARY:
            first, last = self.covers or (0, 0)
            head = f"[summary of earlier conversation, transcript items {first}-{last}]"
            return f"{head}\n{self.content}"
        return self.content


class SessionState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


def new_session_id() -> str:
    return "sess_" + random_id()


class SessionRecord(BaseModel):
    """A session's settings and running totals; persisted as JSON in Redis."""

    id: str = Field(default_factory=new_session_id)
    tenant: str
    state: SessionState = SessionState.OPEN
    created_at: float = Field(default_factory=time.time)
    updated_at: float = Field(default_factory=time.time)
    system: str | None = None
    #: The tier of each step's call (``auto``: routed per step).
    tier: TierChoice = TierChoice.FRONTIER
    #: Output tokens of each step's call.
    max_tokens: int = 1024
    temperature: float | None = None
    #: Stop a step before a call that could take the session's cost past this (USD).
    max_cost_usd: Decimal | None = None
    #: A lower context ceiling than the model's window (tokens); None: the policy's.
    context_ceiling: int | None = None
    #: Tool results kept verbatim (the most recent); None: the policy's.
    keep_tool_results: int | None = None
    #: Turns kept verbatim by a summary (the most recent); None: the policy's.
    keep_turns: int | None = None
    metadata: dict[str, str] = Field(default_factory=dict)

    #: Items in the transcript.
    items: int = 0
    #: Steps that finished.
    steps: int = 0
    #: LLM calls made by the session's steps (summaries included), and their cost.
    calls: int = 0
    cost_usd: Decimal = Decimal(0)
    usage: Usage = Field(default_factory=Usage)
    compactions: int = 0
    #: Prompt tokens of the last step's call, as counted before it.
    context_tokens: int = 0
    #: The task of the step queued or running; turns and steps wait until it ends.
    pending_step: str | None = None
    #: Every step task, oldest first.
    step_tasks: list[str] = Field(default_factory=list)


class Compaction(BaseModel):
    """One rewrite of a session's context, as recorded in its compaction log."""

    at: float = Field(default_factory=time.time)
    tier: Literal["elide_tool_results", "summarise"]
    #: Prompt tokens (calibrated estimate, system prompt included) before and after.
    before_tokens: int
    after_tokens: int
    #: The limit the context must stay under, and the level compaction aimed for.
    limit_tokens: int
    target_tokens: int
    #: Transcript seqs elided, or summarised into the new summary.
    items: list[int]
    #: LLM calls the summary took (0 for elision).
    summary_calls: int = 0
    task_id: str | None = None

"""What one LLM call came to: its answer, its cost and every provider it tried.

A leaf value type: task records, views and the interactive path keep these without
depending on the fallback machinery that produces them.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, field_serializer

from agentqueue.core.llm.messages import Completion


class Attempt(BaseModel):
    """One try at one provider within a call."""

    provider: str
    model: str
    #: The deployment tried (``default``: the provider configured by environment alone).
    deployment: str = "default"
    ok: bool
    latency_s: float
    error_type: str | None = None
    error: str | None = None

    @field_serializer("latency_s")
    def _to_the_tenth_ms(self, seconds: float) -> float:
        return round(seconds, 4)


class CallResult(BaseModel):
    """A finished call: the answer, its cost, and every attempt it took."""

    completion: Completion
    cost_usd: Decimal
    attempts: list[Attempt]
    #: "exact" or "semantic" when the answer came from our cache (then it cost nothing).
    cached: str | None = None
    #: What the cached answer cost when it was first bought: this call's saving.
    saved_usd: Decimal = Decimal(0)

    @property
    def fell_back(self) -> bool:
        return len(self.attempts) > 1

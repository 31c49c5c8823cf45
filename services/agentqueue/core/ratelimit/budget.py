"""What a budget allows: requests and tokens per minute, and how priorities share them."""

from __future__ import annotations

from dataclasses import dataclass, field

from agentqueue.core.base.priority import Priority


def default_reserves() -> dict[Priority, float]:
    """Share of the budget each priority must leave to those above it.

    Interactive calls (a person waiting, :mod:`~agentqueue.core.ratelimit.lanes`) may use
    everything; ``high`` tasks leave 5% for them; ``standard`` leaves 10% for the two
    above it; ``batch`` 30% for the three above it.
    """
    return {Priority.HIGH: 0.05, Priority.STANDARD: 0.10, Priority.BATCH: 0.30}


@dataclass(frozen=True)
class BudgetLimits:
    #: Requests per minute the provider allows this account and model.
    rpm: int
    #: Tokens (input + output) per minute the provider allows.
    tpm: int
    #: Input and output tokens per minute, where the provider counts them apart
    #: (Anthropic's ITPM and OTPM); None where it does not.
    itpm: int | None = None
    otpm: int | None = None
    #: Fraction kept unused as a safety margin against estimate error and clock drift.
    margin: float = 0.02
    #: Seconds in the provider's minute (shortened only by simulations).
    minute_seconds: float = 60.0
    reserves: dict[Priority, float] = field(default_factory=default_reserves)

    def __post_init__(self) -> None:
        if self.rpm < 1 or self.tpm < 1:
            raise ValueError("rpm and tpm must be at least 1")
        if (self.itpm is not None and self.itpm < 1) or (self.otpm is not None and self.otpm < 1):
            raise ValueError("itpm and otpm must be at least 1 when given")
        if not 0 <= self.margin < 0.5:
            raise ValueError("margin must be in [0, 0.5)")
        if any(not 0 <= f < 1 for f in self.reserves.values()):
            raise ValueError("reserves must be fractions in [0, 1)")

    @property
    def effective_rpm(self) -> float:
        return self.rpm * (1 - self.margin)

    @property
    def effective_tpm(self) -> float:
        return self.tpm * (1 - self.margin)

    def effective(self) -> dict[str, float]:
        """Per-minute limits after the margin, by dimension: r, t and (if counted) i, o."""
        keep = 1 - self.margin
        out = {"r": self.rpm * keep, "t": self.tpm * keep}
        if self.itpm is not None:
            out["i"] = self.itpm * keep
        if self.otpm is not None:
            out["o"] = self.otpm * keep
        return out


def budget_name(provider: str, model: str, account: str = "default") -> str:
    return f"{provider}:{model}:{account}"

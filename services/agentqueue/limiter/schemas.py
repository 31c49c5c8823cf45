"""Request and response bodies of the limiter API."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from agentqueue.core.base.priority import Priority
from agentqueue.core.ratelimit.budget import BudgetLimits
from agentqueue.core.ratelimit.lanes import Lane
from agentqueue.core.ratelimit.leases import Charge, Feedback, Lease


class ChargeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    budget: str = Field(min_length=1, max_length=200)
    tokens: int = Field(ge=0)
    output: int = Field(default=0, ge=0)
    requests: int = Field(default=1, ge=0)
    #: A tenant quota: refused at once (429 ``quota_exceeded``) rather than waited for.
    quota: bool = False

    def to_charge(self) -> Charge:
        return Charge(self.budget, self.tokens, self.output, self.requests, self.quota)


class AcquireBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    charges: list[ChargeBody] = Field(min_length=1, max_length=8)
    #: A task priority, or ``interactive`` (a person waiting: the lane above ``high``).
    priority: Lane = Lane.STANDARD
    #: Seconds the caller is willing to wait for its turn.
    max_wait: float = Field(default=30.0, ge=0, le=600)


class LeaseBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lease_id: str
    charges: list[ChargeBody]
    waited: float = 0.0

    @classmethod
    def of(cls, lease: Lease) -> LeaseBody:
        return cls(
            lease_id=lease.id,
            charges=[
                ChargeBody(
                    budget=c.budget,
                    tokens=c.tokens,
                    output=c.output,
                    requests=c.requests,
                    quota=c.quota,
                )
                for c in lease.charges
            ],
            waited=lease.waited,
        )

    def to_lease(self) -> Lease:
        return Lease(self.lease_id, tuple(c.to_charge() for c in self.charges), self.waited)


class SettleBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lease: LeaseBody
    #: Tokens each budget's call really used, by budget name.
    actual_tokens: dict[str, int]
    #: Of those, output tokens (where input and output are counted apart).
    actual_output: dict[str, int] = Field(default_factory=dict)


class FeedbackBody(BaseModel):
    """A :class:`~agentqueue.core.ratelimit.leases.Feedback`, field for field and with
    its bounds, so that a value the in-process backend takes, the service takes too."""

    model_config = ConfigDict(extra="forbid")

    remaining_requests: int | None = Field(default=None, ge=0)
    remaining_tokens: int | None = Field(default=None, ge=0)
    remaining_input_tokens: int | None = Field(default=None, ge=0)
    remaining_output_tokens: int | None = Field(default=None, ge=0)
    retry_after: float | None = Field(default=None, ge=0)
    #: Fraction taken off the provider's counts (0: trust them as they stand).
    margin: float = Field(default=0.0, ge=0, lt=0.5)
    #: Seconds since the provider reported these counts.
    age: float = Field(default=0.0, ge=0)

    def to_feedback(self) -> Feedback:
        return Feedback(**self.model_dump())


class LimitsBody(BaseModel):
    """A budget's limits, as an operator sets them."""

    model_config = ConfigDict(extra="forbid")

    rpm: int = Field(ge=1)
    tpm: int = Field(ge=1)
    #: Input / output tokens per minute where the provider counts them apart.
    itpm: int | None = Field(default=None, ge=1)
    otpm: int | None = Field(default=None, ge=1)
    #: Fraction kept unused; unset: the service's own ``limiter_margin``.
    margin: float | None = Field(default=None, ge=0, lt=0.5)
    minute_seconds: float = Field(default=60.0, gt=0)
    #: Share of the budget each priority leaves to those above it (default 0.05 / 0.1 / 0.3;
    #: interactive calls, the lane above high, may use it all).
    reserves: dict[Priority, Annotated[float, Field(ge=0, lt=1)]] | None = None

    def to_limits(self, *, default_margin: float) -> BudgetLimits:
        """The limits, with the service's margin where the body names none."""
        return BudgetLimits(
            rpm=self.rpm,
            tpm=self.tpm,
            itpm=self.itpm,
            otpm=self.otpm,
            margin=default_margin if self.margin is None else self.margin,
            minute_seconds=self.minute_seconds,
            **({"reserves": self.reserves} if self.reserves is not None else {}),
        )

"""Budgets kept in Redis, decided by one Lua script (``limiter.lua``).

Why this shape (and not the design document's per-process window with a 90% buffer):

- one budget for every process, so N workers never overshoot the provider N-fold;
- continuous refill, as providers count, so there is no window edge to burst across;
- the estimate (input + max_tokens) is reserved *before* the call, as OpenAI charges at
  admission, and :meth:`RedisBudgets.settle` refunds what the answer did not use;
- a waiter is told exactly when its turn comes (arrival order per priority) and sleeps
  until then — no polling, no thundering herd;
- a lease that is never settled (its worker died) gives back its output reservation
  when it expires.
"""

from __future__ import annotations

import asyncio
import time
from importlib import resources
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from agentqueue.core.base.errors import (
    BadRequest,
    BudgetExhausted,
    LimiterUnavailable,
    QuotaExceeded,
    UnknownBudget,
)
from agentqueue.core.base.ids import random_id
from agentqueue.core.base.priority import Priority
from agentqueue.core.ratelimit.budget import BudgetLimits
from agentqueue.core.ratelimit.lanes import Lane
from agentqueue.core.ratelimit.leases import Charge, Feedback, Headroom, Lease

#: The dimensions a budget counts, in the script's order: requests, tokens, and
#: input and output tokens where the provider counts them apart.
DIMENSIONS = ("r", "t", "i", "o")

#: Budgets named ``tenant:<id>`` hold a tenant's own per-minute quota.
TENANT_PREFIX = "tenant:"

#: Seconds a granted call may take to reach the provider (a pooled connection, a new TLS
#: handshake, the request's body). Header feedback counts the open leases sent less than
#: this before the provider counted as not seen by it; those sent earlier it has counted.
IN_TRANSIT = 1.0

_SCRIPT = resources.files("agentqueue.core.ratelimit").joinpath("limiter.lua").read_text()


class RedisBudgets:
    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        prefix: str = "aq:rl:",
        lease_ttl: float = 300.0,
        owns_client: bool = False,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.lease_ttl = lease_ttl
        #: Close ``redis`` with :meth:`aclose` (a client made for these budgets alone).
        self.owns_client = owns_client
        self._script = redis.register_script(_SCRIPT)

    async def aclose(self) -> None:
        if self.owns_client:
            await self.redis.aclose()

    def key(self, budget: str) -> str:
        return f"{self.prefix}budget:{budget}"

    async def _run(self, *args: str | int | float) -> Any:
        try:
            return await self._script(keys=[self.prefix], args=list(args))
        except RedisError as exc:
            raise LimiterUnavailable(f"redis: {exc}") from exc

    @staticmethod
    def _text(value: bytes | str) -> str:
        return value.decode() if isinstance(value, bytes) else value

    async def configure(self, budget: str, limits: BudgetLimits) -> None:
        """Create or change a budget; a lowered limit takes effect at once."""
        per_dim = limits.effective()
        await self._run(
            "configure",
            self.key(budget),
            limits.minute_seconds * 1000,
            *(
                limits.reserves.get(p, 0.0)
                for p in (Priority.HIGH, Priority.STANDARD, Priority.BATCH)
            ),
            *(per_dim.get(d, 0) for d in DIMENSIONS),
        )

    async def acquire(
        self,
        charges: list[Charge],
        *,
        priority: Priority | Lane = Priority.STANDARD,
        max_wait: float = 30.0,
    ) -> Lease:
        """Reserve ``charges`` atomically across their budgets, waiting up to ``max_wait``.

        Raises :class:`BudgetExhausted` (with the wait it would take) when the turn would
        come later than ``max_wait``; the caller can fall back or retry later. A charge
        marked ``quota`` that does not fit now raises :class:`QuotaExceeded` at once.
        """
        lease_id = random_id()
        started = time.monotonic()
        ticket = 0
        flat: list[str | int | float] = []
        for c in charges:
            flat += [self.key(c.budget), c.requests, c.tokens, c.output, int(c.quota)]
        while True:
            remaining = max(0.0, max_wait - (time.monotonic() - started))
            reply = await self._run(
                "acquire",
                priority.value,
                int(remaining * 1000),
                lease_id,
                int(self.lease_ttl * 1000),
                ticket,
                len(charges),
                *flat,
            )
            verdict, detail = self._text(reply[0]), self._text(reply[1])
            if verdict == "granted":
                if int(detail) > 0:  # reserved ahead: the tokens are ours from then on
                    await asyncio.sleep(int(detail) / 1000)
                return Lease(lease_id, tuple(charges), time.monotonic() - started)
            if verdict == "wait":
                ticket = 1
                await asyncio.sleep(int(detail) / 1000)
                continue
            budget = detail.removeprefix(self.key(""))
            if verdict == "deadline":
                raise BudgetExhausted(charges[0].budget, retry_after=int(detail) / 1000)
            if verdict == "quota":
                budget = self._text(reply[2]).removeprefix(self.key(""))
                raise QuotaExceeded(
                    budget.removeprefix(TENANT_PREFIX),
                    "tpm",
                    retry_after=int(detail) / 1000,
                    detail=f"budget {budget!r}",
                )
            if verdict == "unknown":
                raise UnknownBudget(f"no limits configured for budget {budget!r}", budget)
            raise BadRequest(f"the call needs more than budget {budget!r} holds in a minute")

    async def settle(
        self,
        lease: Lease,
        actual_tokens: dict[str, int],
        actual_output: dict[str, int] | None = None,
    ) -> bool:
        """Replace the reservation by what the call used; False if the lease had expired.

        ``actual_output`` (the output part, by budget) matters where input and output are
        counted apart; without it the input is taken as estimated.
        """
        actual_output = actual_output or {}
        args: list[str | int | float] = []
        for c in lease.charges:
            args += [
                self.key(c.budget),
                actual_tokens.get(c.budget, c.tokens),
                actual_output.get(c.budget, -1),
            ]
        result = await self._run("settle", lease.id, len(lease.charges), *args)
        return result in (b"settled", "settled")

    async def feedback(self, budget: str, feedback: Feedback) -> bool:
        """Pull the budget toward the provider's own view (its headers, its 429s).

        A level is only ever lowered; True if one was (False for an unknown budget).
        """

        def count(value: int | None) -> int:
            return -1 if value is None else value

        lowered = await self._run(
            "feedback",
            self.key(budget),
            feedback.margin,
            int(feedback.age * 1000),
            int((feedback.retry_after or 0) * 1000),
            int(IN_TRANSIT * 1000),
            count(feedback.remaining_requests),
            count(feedback.remaining_tokens),
            count(feedback.remaining_input_tokens),
            count(feedback.remaining_output_tokens),
        )
        return bool(lowered == 1)

    async def headroom(self, budget: str) -> Headroom:
        raw = await self._run("peek", self.key(budget))
        if not raw:
            raise UnknownBudget(f"no limits configured for budget {budget!r}", budget)
        dims: dict[str, tuple[float, float, float]] = {}
        for i in range(1, len(raw), 4):
            level, cap, per_minute = (float(x) for x in raw[i + 1 : i + 4])
            dims[self._text(raw[i])] = (level, cap, per_minute)
        return Headroom(
            budget,
            available_requests=dims["r"][0],
            available_tokens=dims["t"][0],
            capacity_requests=dims["r"][1],
            capacity_tokens=dims["t"][1],
            sustainable_rpm=dims["r"][2],
            sustainable_tpm=dims["t"][2],
            open_leases=int(raw[0]),
            available_input_tokens=dims["i"][0] if "i" in dims else None,
            available_output_tokens=dims["o"][0] if "o" in dims else None,
        )

"""The limiter service as a :class:`~.leases.Budgets` backend, over HTTP.

For processes that should not hold Redis credentials (or sit outside the cluster). The
service does the waiting, so one call is one round trip; an unreachable service raises
:class:`LimiterUnavailable`, on which the gate falls back to its local share.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from agentqueue.core.errors import (
    BadRequest,
    BudgetExhausted,
    LimiterUnavailable,
    QuotaExceeded,
    UnknownBudget,
)
from agentqueue.core.priority import Priority
from agentqueue.core.ratelimit.budget import BudgetLimits
from agentqueue.core.ratelimit.leases import Charge, Headroom, Lease


def _charge(c: Charge) -> dict[str, object]:
    return {
        "budget": c.budget,
        "tokens": c.tokens,
        "output": c.output,
        "requests": c.requests,
        "quota": c.quota,
    }


class HttpBudgets:
    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.timeout = timeout
        self._http = httpx.AsyncClient(base_url=base_url, timeout=timeout, transport=transport)

    async def _post(
        self, path: str, body: Mapping[str, object], *, wait: float = 0
    ) -> httpx.Response:
        try:
            response = await self._http.post(path, json=body, timeout=self.timeout + wait)
        except httpx.TransportError as exc:
            raise LimiterUnavailable(f"limiter service: {exc}") from exc
        return self._check(response)

    @staticmethod
    def _check(response: httpx.Response) -> httpx.Response:
        if response.status_code < 400:
            return response
        error = response.json().get("error", {})
        message = str(error.get("message", response.text))
        retry_after = float(response.headers.get("retry-after", "1"))
        if response.status_code == 429 and error.get("type") == "quota_exceeded":
            raise QuotaExceeded(
                response.headers.get("x-agentqueue-tenant", ""),
                response.headers.get("x-agentqueue-quota", "tpm"),
                retry_after,
            )
        if response.status_code == 429:
            budget = message.split("'")[1] if "'" in message else ""
            raise BudgetExhausted(budget, retry_after)
        if response.status_code == 404:
            raise UnknownBudget(message, response.headers.get("x-agentqueue-budget", ""))
        if response.status_code == 422:
            raise BadRequest(message)
        raise LimiterUnavailable(f"limiter service: HTTP {response.status_code}: {message}")

    async def acquire(
        self,
        charges: list[Charge],
        *,
        priority: Priority = Priority.STANDARD,
        max_wait: float = 30.0,
    ) -> Lease:
        body = {
            "charges": [_charge(c) for c in charges],
            "priority": priority.value,
            "max_wait": max_wait,
        }
        data = (await self._post("/v1/acquire", body, wait=max_wait)).json()
        return Lease(data["lease_id"], tuple(charges), data["waited"])

    async def settle(
        self,
        lease: Lease,
        actual_tokens: dict[str, int],
        actual_output: dict[str, int] | None = None,
    ) -> bool:
        body = {
            "lease": {
                "lease_id": lease.id,
                "charges": [_charge(c) for c in lease.charges],
                "waited": lease.waited,
            },
            "actual_tokens": actual_tokens,
            "actual_output": actual_output or {},
        }
        settled: bool = (await self._post("/v1/settle", body)).json()["settled"]
        return settled

    async def feedback(
        self,
        budget: str,
        *,
        remaining_requests: int | None = None,
        remaining_tokens: int | None = None,
        retry_after: float | None = None,
        margin: float = 0.02,
        remaining_input_tokens: int | None = None,
        remaining_output_tokens: int | None = None,
        age: float = 0.0,
    ) -> bool:
        body = {
            "remaining_requests": remaining_requests,
            "remaining_tokens": remaining_tokens,
            "remaining_input_tokens": remaining_input_tokens,
            "remaining_output_tokens": remaining_output_tokens,
            "retry_after": retry_after,
            "age": age,
        }
        lowered: bool = (await self._post(f"/v1/budgets/{budget}/feedback", body)).json()["lowered"]
        return lowered

    async def configure(self, budget: str, limits: BudgetLimits) -> None:
        body = {
            "rpm": limits.rpm,
            "tpm": limits.tpm,
            "itpm": limits.itpm,
            "otpm": limits.otpm,
            "minute_seconds": limits.minute_seconds,
            "reserves": {p.value: f for p, f in limits.reserves.items()},
        }
        try:
            response = await self._http.put(f"/v1/budgets/{budget}", json=body)
        except httpx.TransportError as exc:
            raise LimiterUnavailable(f"limiter service: {exc}") from exc
        self._check(response)

    async def headroom(self, budget: str) -> Headroom:
        try:
            response = await self._http.get(f"/v1/budgets/{budget}/headroom")
        except httpx.TransportError as exc:
            raise LimiterUnavailable(f"limiter service: {exc}") from exc
        return Headroom(**self._check(response).json())

    async def aclose(self) -> None:
        await self._http.aclose()

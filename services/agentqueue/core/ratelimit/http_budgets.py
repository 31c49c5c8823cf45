"""The limiter service as a :class:`~.leases.Budgets` backend, over HTTP.

For processes that should not hold Redis credentials (or sit outside the cluster). The
service does the waiting, so one call is one round trip; an unreachable service raises
:class:`LimiterUnavailable`, on which the gate falls back to its local share.

The client is aiohttp, not httpx: paced at 1,000 acquires/s from one process, an httpx
client could not keep up (p50 67 ms, p99 600 ms, its own CPU the bottleneck) where
aiohttp answered in p50 1.3 ms against the same service (``bench/limiter.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

import aiohttp

from agentqueue.core.base.errors import (
    BadRequest,
    BudgetExhausted,
    LimiterUnavailable,
    QuotaExceeded,
    UnknownBudget,
)
from agentqueue.core.base.priority import Priority
from agentqueue.core.ratelimit.budget import BudgetLimits
from agentqueue.core.ratelimit.lanes import Lane
from agentqueue.core.ratelimit.leases import Charge, Feedback, Headroom, Lease


def _charge(c: Charge) -> dict[str, object]:
    return {
        "budget": c.budget,
        "tokens": c.tokens,
        "output": c.output,
        "requests": c.requests,
        "quota": c.quota,
    }


class _Reply:
    def __init__(self, status: int, headers: Mapping[str, str], data: Any) -> None:
        self.status = status
        self.headers = headers
        self.data = data


class HttpBudgets:
    def __init__(self, base_url: str, *, timeout: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        # created lazily: an aiohttp session belongs to the running event loop
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=256, keepalive_timeout=30)
            )
        return self._session

    async def _request(
        self, method: str, path: str, body: Mapping[str, object] | None = None, *, wait: float = 0
    ) -> _Reply:
        try:
            async with self._http().request(
                method,
                f"{self.base_url}{path}",
                json=body,
                timeout=aiohttp.ClientTimeout(total=self.timeout + wait),
            ) as response:
                data = await response.json(content_type=None)
                reply = _Reply(response.status, response.headers.copy(), data)
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            raise LimiterUnavailable(f"limiter service: {exc!r}") from exc
        return self._check(reply)

    async def _post(self, path: str, body: Mapping[str, object], *, wait: float = 0) -> _Reply:
        return await self._request("POST", path, body, wait=wait)

    @staticmethod
    def _check(response: _Reply) -> _Reply:
        if response.status < 400:
            return response
        data = response.data if isinstance(response.data, dict) else {}
        error = data.get("error", {})
        message = str(error.get("message", response.data))
        retry_after = float(response.headers.get("retry-after", "1"))
        if response.status == 429 and error.get("type") == "quota_exceeded":
            raise QuotaExceeded(
                response.headers.get("x-agentqueue-tenant", ""),
                response.headers.get("x-agentqueue-quota", "tpm"),
                retry_after,
            )
        if response.status == 429:
            budget = message.split("'")[1] if "'" in message else ""
            raise BudgetExhausted(budget, retry_after)
        if response.status == 404:
            raise UnknownBudget(message, response.headers.get("x-agentqueue-budget", ""))
        if response.status == 422:
            raise BadRequest(message)
        raise LimiterUnavailable(f"limiter service: HTTP {response.status}: {message}")

    async def acquire(
        self,
        charges: list[Charge],
        *,
        priority: Priority | Lane = Priority.STANDARD,
        max_wait: float = 30.0,
    ) -> Lease:
        body = {
            "charges": [_charge(c) for c in charges],
            "priority": priority.value,
            "max_wait": max_wait,
        }
        data = (await self._post("/v1/acquire", body, wait=max_wait)).data
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
        settled: bool = (await self._post("/v1/settle", body)).data["settled"]
        return settled

    async def feedback(self, budget: str, feedback: Feedback) -> bool:
        # the whole value, field for field: the service's body mirrors it
        body = asdict(feedback)
        lowered: bool = (await self._post(f"/v1/budgets/{budget}/feedback", body)).data["lowered"]
        return lowered

    async def configure(self, budget: str, limits: BudgetLimits) -> None:
        body = {
            "rpm": limits.rpm,
            "tpm": limits.tpm,
            "itpm": limits.itpm,
            "otpm": limits.otpm,
            "margin": limits.margin,
            "minute_seconds": limits.minute_seconds,
            "reserves": {p.value: f for p, f in limits.reserves.items()},
        }
        await self._request("PUT", f"/v1/budgets/{budget}", body)

    async def headroom(self, budget: str) -> Headroom:
        return Headroom(**(await self._request("GET", f"/v1/budgets/{budget}/headroom")).data)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()

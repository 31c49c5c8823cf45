"""The primary provider's outage, scripted against the simulator's admin API."""

from __future__ import annotations

import asyncio
import time

import httpx


async def outage(simulator_url: str, provider: str, start: float, end: float, t0: float) -> None:
    """``provider`` answers every call with its overload error (Anthropic 529, others 503)
    from ``start`` to ``end`` seconds after ``t0``."""
    async with httpx.AsyncClient(base_url=simulator_url, timeout=10) as sim:
        await asyncio.sleep(max(0.0, t0 + start - time.time()))
        (await sim.patch("/_sim/config", json={provider: {"outage": True}})).raise_for_status()
        await asyncio.sleep(max(0.0, t0 + end - time.time()))
        (await sim.patch("/_sim/config", json={provider: {"outage": False}})).raise_for_status()

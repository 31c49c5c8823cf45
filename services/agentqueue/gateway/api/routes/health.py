"""Probes and metrics: liveness, readiness (Redis reachable), Prometheus.

``/metrics`` answers for every process of the gateway (multiprocess mode when it runs
several, ``core/telemetry/exposition.py``) plus the queues' depth and oldest age, read
from Redis for the scrape (``core/queues/metrics.py``): one exporter for them, whatever
the number of workers.
"""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from redis.exceptions import RedisError

from agentqueue.core.queues.metrics import QueueStats, QueueStatsCollector, read_queue_stats
from agentqueue.core.telemetry.exposition import CONTENT_TYPE, latest

log = logging.getLogger(__name__)

#: Seconds a scrape waits for the queues' stats (Redis' client retries a lost connection
#: for much longer; the scrape answers without them instead).
QUEUE_STATS_TIMEOUT = 2.0

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


class Readiness(BaseModel):
    status: str
    reason: str | None = None


@router.get(
    "/readyz",
    response_model=None,
    responses={
        200: {"model": Readiness, "description": "Redis answers."},
        503: {"model": Readiness, "description": "Redis does not answer."},
    },
)
async def readyz(request: Request) -> dict[str, str] | JSONResponse:
    """Ready when Redis answers: without it no task can be accepted."""
    try:
        await request.app.state.redis.ping()
    except Exception as exc:
        return JSONResponse({"status": "unavailable", "reason": f"redis: {exc}"}, status_code=503)
    return {"status": "ready"}


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    stats: list[QueueStats] | None
    try:
        stats = await asyncio.wait_for(
            read_queue_stats(request.app.state.redis), QUEUE_STATS_TIMEOUT
        )
    except (RedisError, OSError, TimeoutError) as exc:
        log.debug("queue stats not read for /metrics: %s", exc)
        stats = None
    return Response(latest([QueueStatsCollector(stats)]), media_type=CONTENT_TYPE)

"""Probes and metrics: liveness, readiness (Redis reachable), Prometheus."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from agentqueue.limiter.api.deps import RedisDep
from agentqueue.limiter.api.errors import error

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
async def readyz(redis: RedisDep) -> dict[str, str] | JSONResponse:
    """Ready when Redis answers: every budget lives there."""
    try:
        await redis.ping()
    except Exception as exc:
        return error(503, "unavailable", f"redis: {exc}")
    return {"status": "ready"}


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

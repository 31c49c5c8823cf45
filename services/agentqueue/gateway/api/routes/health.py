"""Probes and metrics: liveness, readiness (Redis reachable), Prometheus."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

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
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

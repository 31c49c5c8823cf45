"""The simulator's FastAPI application: three provider protocols (chat, embeddings for
OpenAI and Gemini, and the three batch APIs), the cloud shapes of them (Azure OpenAI,
Anthropic on Bedrock and on Vertex AI, Gemini on Vertex AI), each under
``/d/{deployment}`` too, and an admin API."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from agentqueue.simulator.batches import BatchStore
from agentqueue.simulator.behaviour import ConfigError
from agentqueue.simulator.deployments import DeploymentPrefix
from agentqueue.simulator.engine import Simulator
from agentqueue.simulator.protocols import (
    anthropic,
    anthropic_batches,
    azure,
    bedrock,
    gemini,
    gemini_batches,
    gemini_embeddings,
    openai,
    openai_batches,
    openai_embeddings,
    vertex,
)
from agentqueue.simulator.settings import SimulatorSettings


def create_app(settings: SimulatorSettings | None = None) -> FastAPI:
    sim = Simulator(settings or SimulatorSettings())
    app = FastAPI(
        title="agentqueue provider simulator",
        summary="Anthropic, OpenAI and Gemini protocols with limits and faults.",
    )
    batches = BatchStore(sim.settings)
    app.state.simulator = sim
    app.state.batches = batches
    app.include_router(anthropic.router(sim), tags=["anthropic"])
    app.include_router(anthropic_batches.router(sim, batches), tags=["anthropic"])
    app.include_router(openai.router(sim), tags=["openai"])
    app.include_router(openai_embeddings.router(sim), tags=["openai"])
    # before OpenAI's: the two share /v1/batches… (Gemini's take calls with a Gemini key)
    app.include_router(gemini_batches.router(sim, batches), tags=["gemini"])
    app.include_router(openai_batches.router(sim, batches), tags=["openai"])
    # before gemini's: its {model_action} route would take the embedding and batch actions
    app.include_router(gemini_embeddings.router(sim), tags=["gemini"])
    app.include_router(gemini.router(sim), tags=["gemini"])
    app.include_router(azure.router(sim), tags=["azure-openai"])
    app.include_router(bedrock.router(sim), tags=["anthropic-bedrock"])
    app.include_router(vertex.router(sim), tags=["vertex"])
    # /d/{deployment}/… is every route above, for a named deployment (deployments.py)
    app.add_middleware(DeploymentPrefix)

    @app.get("/healthz", tags=["admin"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/_sim/stats", tags=["admin"])
    async def stats(calls: bool = True) -> dict[str, Any]:
        """Counters per provider, per model and per deployment, and the log of recent calls
        (start and end times; ``?calls=false`` leaves it out); and, once a batch was sent,
        ``batches``: per provider, batches and their requests."""
        counted = batches.stats()
        now = sim.stats.as_dict(calls=calls)
        return {**now, "batches": counted} if counted else now

    @app.post("/_sim/reset", tags=["admin"])
    async def reset() -> dict[str, str]:
        """Counters, buckets and behaviour back to how they were at start."""
        sim.reset()
        batches.reset()
        return {"status": "reset"}

    @app.get("/_sim/batches", tags=["admin"])
    async def batch_jobs() -> dict[str, Any]:
        """The batch behaviour now and every provider's batch jobs."""
        return batches.as_dict()

    @app.post("/_sim/batches/{batch_id}/expire", tags=["admin"], response_model=None)
    async def expire_batch(batch_id: str) -> dict[str, Any] | JSONResponse:
        """End an unfinished batch now, every request expired (Gemini: ``batches/…``)."""
        job = batches.jobs.get(batch_id.removeprefix("batches/"))
        if job is None:
            return JSONResponse({"error": {"type": "not_found", "message": batch_id}}, 404)
        batches.expire(job)
        return {"id": job.id, "status": job.status()}

    @app.get("/_sim/config", tags=["admin"])
    async def get_config() -> dict[str, dict[str, Any]]:
        return sim.behaviours.as_dict()

    @app.patch("/_sim/config", tags=["admin"], response_model=None)
    async def patch_config(request: Request) -> dict[str, dict[str, Any]] | JSONResponse:
        """Change behaviour at run time: ``{"all" | provider: {field: value}}``, and the
        batch APIs' with ``{"batches": {"delay_seconds", "error_rate", "enqueued_tokens",
        "expire_next"}}``."""
        try:
            changes = await request.json()
            if not isinstance(changes, dict):
                raise ConfigError("expected a JSON object")
            batch_changes = changes.pop("batches", None)
            if batch_changes is not None:
                batches.config.validate(batch_changes)
            sim.behaviours.patch(changes)
            if batch_changes is not None:
                batches.config.patch(batch_changes)
        except (ConfigError, ValueError) as exc:
            return JSONResponse(
                {"error": {"type": "invalid_config", "message": str(exc)}}, status_code=422
            )
        return sim.behaviours.as_dict()

    return app

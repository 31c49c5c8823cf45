"""The simulator's FastAPI application: three provider protocols (chat, and embeddings for
OpenAI and Gemini), the cloud shapes of them (Azure OpenAI, Anthropic on Bedrock and on
Vertex AI, Gemini on Vertex AI), each under ``/d/{deployment}`` too, and an admin API."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from agentqueue.simulator.behaviour import ConfigError
from agentqueue.simulator.deployments import DeploymentPrefix
from agentqueue.simulator.engine import Simulator
from agentqueue.simulator.protocols import (
    anthropic,
    azure,
    bedrock,
    gemini,
    gemini_embeddings,
    openai,
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
    app.state.simulator = sim
    app.include_router(anthropic.router(sim), tags=["anthropic"])
    app.include_router(openai.router(sim), tags=["openai"])
    app.include_router(openai_embeddings.router(sim), tags=["openai"])
    # before gemini's: its {model_action} route would take the embedding actions too
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
    async def stats() -> dict[str, Any]:
        """Counters per provider and the log of recent calls (start and end times)."""
        return sim.stats.as_dict()

    @app.post("/_sim/reset", tags=["admin"])
    async def reset() -> dict[str, str]:
        """Counters, buckets and behaviour back to how they were at start."""
        sim.reset()
        return {"status": "reset"}

    @app.get("/_sim/config", tags=["admin"])
    async def get_config() -> dict[str, dict[str, Any]]:
        return sim.behaviours.as_dict()

    @app.patch("/_sim/config", tags=["admin"], response_model=None)
    async def patch_config(request: Request) -> dict[str, dict[str, Any]] | JSONResponse:
        """Change behaviour at run time: ``{"all" | provider: {field: value}}``."""
        try:
            changes = await request.json()
            if not isinstance(changes, dict):
                raise ConfigError("expected a JSON object")
            sim.behaviours.patch(changes)
        except (ConfigError, ValueError) as exc:
            return JSONResponse(
                {"error": {"type": "invalid_config", "message": str(exc)}}, status_code=422
            )
        return sim.behaviours.as_dict()

    return app

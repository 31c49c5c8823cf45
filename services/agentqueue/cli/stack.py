"""The whole agentqueue stack on one machine: Redis, simulator, limiter, gateway, workers.

Provider keys in the environment are passed through, so ``agentqueue up`` with
``ANTHROPIC_API_KEY`` set calls the real Anthropic; without any key every provider is the
local simulator. The gateway gets a fresh random API key per run (printed), because the
gateway never serves unauthenticated unless told to.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from agentqueue.cli.processes import (
    ProcessGroup,
    redis_answers,
    start_redis,
    wait_http,
    wait_workers,
)
from agentqueue.core.base.ports import free_port, port_is_free
from agentqueue.core.llm.catalog import load_catalog
from agentqueue.core.tasks.webhooks import generate_secret

QUEUES = ("high", "standard", "batch")


@dataclass
class StackConfig:
    redis_url: str | None = None
    #: Use an existing Redis at ``redis_url`` when it answers (else start a private one).
    reuse_redis: bool = True
    gateway_port: int = 8080
    simulator_port: int = 8090
    worker_threads: int = 8
    #: Queues that get a worker process (all three by default).
    queues: tuple[str, ...] = QUEUES
    #: Extra environment for the simulator (AGENTQUEUE_SIM_*), e.g. speed and limits.
    simulator_env: dict[str, str] = field(default_factory=dict)
    #: Extra environment for every service.
    env: dict[str, str] = field(default_factory=dict)
    log_dir: Path | None = None


@dataclass
class RunningStack:
    group: ProcessGroup
    redis_url: str
    gateway_url: str
    simulator_url: str
    api_key: str

    @property
    def worker_env(self) -> dict[str, str]:
        """What a worker process needs to join this stack."""
        return {
            "AGENTQUEUE_REDIS_URL": self.redis_url,
            "AGENTQUEUE_SIMULATOR_URL": self.simulator_url,
        }

    def stop(self) -> None:
        self.group.stop()


def simulator_budgets(simulator_url: str) -> str:
    """Budgets for every catalog model equal to the running simulator's per-model limits
    (read from its admin API), so the local stack's limiter keeps it from ever 429ing."""
    config = httpx.get(f"{simulator_url}/_sim/config", timeout=5).raise_for_status().json()
    budgets = {
        f"{m.provider}:{m.model}": {
            "rpm": config[m.provider]["rpm"],
            "tpm": config[m.provider]["tpm"],
            "minute_seconds": config[m.provider]["minute_seconds"],
        }
        for m in load_catalog().models
        if m.provider in config
    }
    return json.dumps(budgets)


def _port(preferred: int) -> int:
    return preferred if port_is_free(preferred) else free_port()


def start_stack(config: StackConfig) -> RunningStack:
    """Start every process and wait until each answers; stop them all on failure."""
    group = ProcessGroup(log_dir=config.log_dir)
    if config.log_dir:
        config.log_dir.mkdir(parents=True, exist_ok=True)
    try:
        url = config.redis_url or os.environ.get("AGENTQUEUE_REDIS_URL", "redis://127.0.0.1:6379/0")
        if not (config.reuse_redis and redis_answers(url)):
            url = start_redis(group)

        sim_port = _port(config.simulator_port)
        simulator_url = f"http://127.0.0.1:{sim_port}"
        group.start_service(
            "simulator",
            "agentqueue.simulator",
            {
                "AGENTQUEUE_SIM_HOST": "127.0.0.1",
                "AGENTQUEUE_SIM_PORT": str(sim_port),
                **config.simulator_env,
            },
        )
        wait_http(f"{simulator_url}/healthz", group)

        api_key = "aq-local-" + secrets.token_urlsafe(24)
        budgets = simulator_budgets(simulator_url)
        common = {
            "AGENTQUEUE_REDIS_URL": url,
            "AGENTQUEUE_SIMULATOR_URL": simulator_url,
            "AGENTQUEUE_BUDGETS": budgets,
            # workers sign webhooks with it; a fresh one per local stack
            "AGENTQUEUE_WEBHOOK_SECRET": generate_secret(),
            **config.env,
        }
        limiter_port = free_port()
        group.start_service(
            "limiter", "agentqueue.limiter", {**common, "AGENTQUEUE_PORT": str(limiter_port)}
        )
        # The limiter service owns configuration, headroom and metrics; the gateway and
        # the workers decide in Redis directly, with the same script (one state, no hop).
        wait_http(f"http://127.0.0.1:{limiter_port}/readyz", group)
        gateway_port = _port(config.gateway_port)
        group.start_service(
            "gateway",
            "agentqueue.gateway",
            {
                **common,
                "AGENTQUEUE_PORT": str(gateway_port),
                "AGENTQUEUE_API_KEYS": f"local:{api_key}",
            },
        )
        for queue in config.queues:
            group.start_service(
                f"worker-{queue}",
                "agentqueue.worker",
                {
                    **common,
                    "AGENTQUEUE_QUEUE": queue,
                    "AGENTQUEUE_THREADS": str(config.worker_threads),
                },
            )
        gateway_url = f"http://127.0.0.1:{gateway_port}"
        wait_http(f"{gateway_url}/readyz", group)
        wait_workers(url, len(config.queues), group)
        group.check_alive()
    except BaseException:
        group.stop()
        raise
    return RunningStack(group, url, gateway_url, simulator_url, api_key)

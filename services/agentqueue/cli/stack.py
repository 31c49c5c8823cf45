"""The whole agentqueue stack on one machine: Redis, simulator, limiter, gateway, workers.

- **Redis**: a private ``redis-server`` of its own on a free port (data in a temporary
  directory, removed when the stack stops), never whatever answers on 6379 — two users'
  stacks sharing one Redis would run each other's tasks with their own provider keys.
  ``redis_url`` (``agentqueue up --redis-url``) uses an existing one instead, with a
  loud notice.
- **Providers**: the environment's keys are passed through and chosen by the same rule
  as every service (:mod:`agentqueue.core.calls.registry`): with no key at all every
  provider is the local simulator; with one, only keyed providers are called, unless
  ``AGENTQUEUE_SIMULATE`` names others for the simulator. The simulator runs only when it
  plays some provider.
- **Budgets**: the user's ``AGENTQUEUE_BUDGETS`` are kept; each simulated provider's
  models get a budget equal to the simulator's limits (where the user set none), so the
  local stack never makes the simulator 429.
- **Readiness**: each service is waited for in turn, saying which, within one
  ``ready_timeout`` (120 s: a slow 2-core machine starts seven Python processes).

The gateway gets a fresh random API key per run (printed), because the gateway never
serves unauthenticated unless told to.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from pydantic import ValidationError

from agentqueue.cli.processes import (
    ProcessGroup,
    Progress,
    StackError,
    redis_answers,
    start_redis,
    wait_http,
    wait_workers,
)
from agentqueue.core.base.ports import free_port, port_is_free
from agentqueue.core.calls.registry import provider_configs, simulated_providers
from agentqueue.core.llm.catalog import load_catalog
from agentqueue.core.llm.providers.base import ProviderConfig
from agentqueue.core.settings import CoreSettings
from agentqueue.core.tasks.webhooks import generate_secret

log = logging.getLogger(__name__)

QUEUES = ("high", "standard", "batch")

#: Seconds the whole stack may take to become ready.
DEFAULT_READY_TIMEOUT = 120.0


@dataclass
class StackConfig:
    #: An existing Redis to use instead of a private one (``agentqueue up --redis-url``).
    redis_url: str | None = None
    #: Use ``redis_url`` when given; False: a private Redis whatever ``redis_url`` says.
    reuse_redis: bool = True
    gateway_port: int = 8080
    #: A second gateway for interactive calls only (streams a person waits on), on this
    #: port: the first then serves the task and session APIs alone. None: one gateway.
    interactive_port: int | None = None
    simulator_port: int = 8090
    worker_threads: int = 8
    #: Queues that get a worker process (all three by default).
    queues: tuple[str, ...] = QUEUES
    #: Extra environment for the simulator (AGENTQUEUE_SIM_*), e.g. speed and limits.
    simulator_env: dict[str, str] = field(default_factory=dict)
    #: Extra environment for every service (over the process's own environment).
    env: dict[str, str] = field(default_factory=dict)
    log_dir: Path | None = None
    #: Seconds the whole stack may take to become ready.
    ready_timeout: float = DEFAULT_READY_TIMEOUT
    #: Called with each progress line and notice (default: logged).
    progress: Progress | None = None


@dataclass
class RunningStack:
    group: ProcessGroup
    redis_url: str
    gateway_url: str
    #: The simulator's URL, None when it plays no provider (every provider has a key).
    simulator_url: str | None
    api_key: str
    #: The providers in fallback order, each simulated or not.
    providers: list[ProviderConfig] = field(default_factory=list)
    #: Whether Redis is a private one this stack started (else ``--redis-url``'s).
    private_redis: bool = True
    #: Each service's Prometheus endpoint, by process name (gateway, limiter, worker-<queue>).
    metrics_urls: dict[str, str] = field(default_factory=dict)
    #: The interactive gateway (``StackConfig.interactive_port``), if one was started.
    interactive_url: str | None = None

    @property
    def worker_env(self) -> dict[str, str]:
        """What a worker process needs to join this stack."""
        env = {"AGENTQUEUE_REDIS_URL": self.redis_url}
        if self.simulator_url:
            env["AGENTQUEUE_SIMULATOR_URL"] = self.simulator_url
        return env

    def stop(self) -> None:
        self.group.stop()


def simulator_budgets(simulator_url: str, providers: list[str] | None = None) -> str:
    """Budgets for every catalog model of ``providers`` (default: all) equal to the running
    simulator's per-model limits (read from its admin API), so that the local stack's
    limiter keeps it from ever 429ing; JSON, as ``AGENTQUEUE_BUDGETS`` takes it."""
    return json.dumps(_simulator_budgets(simulator_url, providers))


def _simulator_budgets(
    simulator_url: str, providers: list[str] | None = None
) -> dict[str, dict[str, float]]:
    config = httpx.get(f"{simulator_url}/_sim/config", timeout=5).raise_for_status().json()
    return {
        f"{m.provider}:{m.model}": {
            "rpm": config[m.provider]["rpm"],
            "tpm": config[m.provider]["tpm"],
            "minute_seconds": config[m.provider]["minute_seconds"],
        }
        for m in load_catalog().models
        if m.provider in config and (providers is None or m.provider in providers)
    }


def _budget_key(name: str) -> str:
    """A budget's full name (``provider:model:account``), as the settings read it."""
    return name if name.count(":") >= 2 else f"{name}:default"


def merge_budgets(
    user: Mapping[str, dict[str, Any]], simulated: Mapping[str, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """The user's budgets, plus the simulator's for the models the user set none for."""
    mine = {_budget_key(name) for name in user}
    extra = {name: v for name, v in simulated.items() if _budget_key(name) not in mine}
    return {**extra, **user}


@contextmanager
def _environ(overlay: Mapping[str, str]) -> Iterator[None]:
    """``os.environ`` with ``overlay`` on top, for reading settings as a child will."""
    saved = {k: os.environ.get(k) for k in overlay}
    os.environ.update(overlay)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def child_settings(env: Mapping[str, str]) -> CoreSettings:
    """The settings a service started with ``env`` over this environment will read."""
    try:
        with _environ(env):
            return CoreSettings()
    except ValidationError as exc:
        raise StackError(f"invalid configuration: {exc}") from exc


def _port(preferred: int) -> int:
    return preferred if port_is_free(preferred) else free_port()


def start_stack(config: StackConfig) -> RunningStack:
    """Start every process and wait until each answers; stop them all on failure."""
    say: Progress = config.progress or (lambda line: log.info("%s", line))
    deadline = time.monotonic() + config.ready_timeout

    def left() -> float:
        return max(0.0, deadline - time.monotonic())

    group = ProcessGroup(log_dir=config.log_dir)
    if config.log_dir:
        config.log_dir.mkdir(parents=True, exist_ok=True)
    try:
        wanted = child_settings(config.env)  # what the services would read, before ours
        private = not (config.redis_url and config.reuse_redis)
        if not private:
            assert config.redis_url is not None
            url = config.redis_url
            if not redis_answers(url):
                raise StackError(f"no Redis answers at {url} (--redis-url)")
            say(
                f"NOTICE: using the existing Redis at {url}: its queues, tasks, keys and "
                "budgets are shared with anything else using it (another stack's workers "
                "would run these tasks, with their own provider keys)"
            )
        else:
            if os.environ.get("AGENTQUEUE_REDIS_URL") and config.redis_url is None:
                say(
                    "AGENTQUEUE_REDIS_URL is ignored: the local stack runs its own Redis "
                    "(--redis-url uses an existing one)"
                )
            say("starting a private Redis…")
            url = start_redis(group, timeout=min(30.0, left()))

        base_env = {"AGENTQUEUE_REDIS_URL": url, **config.env}
        simulated = simulated_providers(wanted)
        simulator_url = None
        if simulated:
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
            wait_http(
                f"{simulator_url}/healthz",
                group,
                timeout=left(),
                what=f"the simulator ({', '.join(simulated)})",
                progress=say,
            )
            base_env = {"AGENTQUEUE_SIMULATOR_URL": simulator_url, **base_env}
        budgets = merge_budgets(
            wanted.budgets,
            _simulator_budgets(simulator_url, simulated) if simulator_url else {},
        )

        api_key = "aq-local-" + secrets.token_urlsafe(24)
        common = {
            # workers sign webhooks with it; a fresh one per local stack
            "AGENTQUEUE_WEBHOOK_SECRET": generate_secret(),
            **base_env,
            "AGENTQUEUE_BUDGETS": json.dumps(budgets),
        }
        providers = provider_configs(child_settings(common))
        if not providers:
            raise StackError("no provider to call: set a provider key or AGENTQUEUE_SIMULATE")
        limiter_port = free_port()
        group.start_service(
            "limiter", "agentqueue.limiter", {**common, "AGENTQUEUE_PORT": str(limiter_port)}
        )
        # The limiter service serves headroom and metrics; the gateway and the workers
        # decide in Redis directly, with the same script (one state, no hop), each
        # writing the budgets at start.
        wait_http(
            f"http://127.0.0.1:{limiter_port}/readyz",
            group,
            timeout=left(),
            what="the limiter",
            progress=say,
        )

        def start_gateway(name: str, preferred: int) -> str:
            """A gateway process named ``name`` on ``preferred`` (or a free port); its URL."""
            port = _port(preferred)
            group.start_service(
                name,
                "agentqueue.gateway",
                {**common, "AGENTQUEUE_PORT": str(port), "AGENTQUEUE_API_KEYS": f"local:{api_key}"},
            )
            return f"http://127.0.0.1:{port}"

        gateway_url = start_gateway("gateway", config.gateway_port)
        metrics_urls = {"limiter": f"http://127.0.0.1:{limiter_port}/metrics"}
        interactive_url = None
        if config.interactive_port is not None:
            interactive_url = start_gateway("gateway-interactive", config.interactive_port)
            metrics_urls["gateway-interactive"] = f"{interactive_url}/metrics"
        for queue in config.queues:
            metrics_port = free_port()  # one each: the workers share this machine
            metrics_urls[f"worker-{queue}"] = f"http://127.0.0.1:{metrics_port}/metrics"
            group.start_service(
                f"worker-{queue}",
                "agentqueue.worker",
                {
                    **common,
                    "AGENTQUEUE_QUEUE": queue,
                    "AGENTQUEUE_THREADS": str(config.worker_threads),
                    "AGENTQUEUE_METRICS_PORT": str(metrics_port),
                },
            )
        wait_http(f"{gateway_url}/readyz", group, timeout=left(), what="the gateway", progress=say)
        if interactive_url is not None:
            wait_http(
                f"{interactive_url}/readyz",
                group,
                timeout=left(),
                what="the interactive gateway",
                progress=say,
            )
        if config.queues:
            wait_workers(url, len(config.queues), group, timeout=left(), progress=say)
        group.check_alive()
    except BaseException:
        group.stop()
        raise
    return RunningStack(
        group,
        url,
        gateway_url,
        simulator_url,
        api_key,
        providers=providers,
        private_redis=private,
        metrics_urls={"gateway": f"{gateway_url}/metrics", **metrics_urls},
        interactive_url=interactive_url,
    )

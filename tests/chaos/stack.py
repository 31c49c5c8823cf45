"""A real local stack for chaos tests: Redis with AOF (or Sentinel), services, kills.

Processes are started by ``agentqueue.cli.processes.ProcessGroup`` (the same code as
``agentqueue up``), each in its own session, so a SIGKILL here goes to the service's
whole process group, exactly what an OOM kill or a node loss does to a container.
Every service is ``python -m agentqueue.<service>`` configured by ``AGENTQUEUE_*``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import redis
import redis.sentinel

from agentqueue.cli.processes import Child, ProcessGroup, StackError, wait_http, wait_workers
from agentqueue.cli.stack import simulator_budgets
from agentqueue.core.base.ports import free_port

QUEUES = ("high", "standard", "batch")
SENTINEL_MASTER = "agentqueue"

#: What every chaos stack's simulator does: ~0.5 s per call, so that kills land while
#: tasks are in flight, with limits the workload never reaches.
SIMULATOR_ENV = {
    "AGENTQUEUE_SIM_SPEED": "1",
    "AGENTQUEUE_SIM_TTFT_MS": "400",
    "AGENTQUEUE_SIM_MS_PER_TOKEN": "5",
    "AGENTQUEUE_SIM_RPM": "100000",
    "AGENTQUEUE_SIM_TPM": "100000000",
    "AGENTQUEUE_SIM_SEED": "7",
}

#: Every service: no response cache (each call is paid and recorded, so the usage
#: ledger and the records must agree call for call), short retry backoff, fast
#: redelivery of a dead worker's messages, breakers that probe again after 3 s (the
#: default 30 s would hold retried tasks past the bound).
SERVICE_ENV = {
    "AGENTQUEUE_CACHE_ENABLED": "false",
    "AGENTQUEUE_RETRY_BACKOFF": "0.5",
    "AGENTQUEUE_RETRY_BACKOFF_MAX": "4",
    "AGENTQUEUE_HEARTBEAT_TIMEOUT_MS": "5000",
    "AGENTQUEUE_MAINTENANCE_CHANCE": "100000",
    "AGENTQUEUE_BREAKER_COOLDOWN": "3",
    "AGENTQUEUE_LOG_LEVEL": "INFO",
}


def kill(child: Child) -> None:
    """SIGKILL the child's whole process group and reap it."""
    if child.process.poll() is None:
        with contextlib.suppress(ProcessLookupError):  # it died on its own meanwhile
            os.killpg(child.process.pid, signal.SIGKILL)
    child.process.wait(10)


def _redis_binary() -> str:
    binary = shutil.which("redis-server")
    if binary is None:
        raise StackError("redis-server is not installed: sudo apt-get install -y redis-server")
    return binary


def wait_redis(port: int, *, timeout: float = 15.0, child: Child | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child is not None and child.process.poll() is not None:
            raise StackError(f"{child.name} exited with code {child.process.returncode}")
        try:
            client = redis.Redis(port=port, socket_connect_timeout=0.5, socket_timeout=1)
            try:
                # LOADING (AOF replay after a restart) raises BusyLoadingError here.
                if client.ping():
                    return
            finally:
                client.close()
        except (redis.RedisError, OSError):
            pass
        time.sleep(0.05)
    raise StackError(f"redis on port {port} did not answer within {timeout:.0f}s")


@dataclass
class RedisNode:
    """One redis-server with AOF (``appendfsync everysec``) in a directory of its own;
    restartable on the same port and directory."""

    group: ProcessGroup
    name: str
    dir: Path
    port: int = field(default_factory=free_port)
    replica_of: int | None = None
    child: Child | None = None

    def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        argv = [
            _redis_binary(),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.dir),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
        ]  # fmt: skip
        if self.replica_of is not None:
            argv += ["--replicaof", "127.0.0.1", str(self.replica_of)]
        self.child = self.group.start(self.name, argv, {})
        wait_redis(self.port, child=self.child)

    def kill(self) -> None:
        assert self.child is not None
        kill(self.child)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


@dataclass
class SentinelSet:
    """A primary, one replica and three Sentinels watching them (quorum 2)."""

    group: ProcessGroup
    dir: Path
    primary: RedisNode = field(init=False)
    replica: RedisNode = field(init=False)
    ports: list[int] = field(default_factory=list)

    def start(self) -> None:
        self.primary = RedisNode(self.group, "redis-primary", self.dir / "primary")
        self.primary.start()
        self.replica = RedisNode(
            self.group, "redis-replica", self.dir / "replica", replica_of=self.primary.port
        )
        self.replica.start()
        for i in range(3):
            port = free_port()
            sdir = self.dir / f"sentinel-{i}"
            sdir.mkdir(parents=True)
            conf = sdir / "sentinel.conf"  # Sentinel rewrites it: it must be writable
            conf.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {sdir}\n"
                f"sentinel monitor {SENTINEL_MASTER} 127.0.0.1 {self.primary.port} 2\n"
                f"sentinel down-after-milliseconds {SENTINEL_MASTER} 1000\n"
                f"sentinel failover-timeout {SENTINEL_MASTER} 10000\n"
                f"sentinel parallel-syncs {SENTINEL_MASTER} 1\n"
            )
            child = self.group.start(
                f"sentinel-{i}", [_redis_binary(), str(conf), "--sentinel"], {}
            )
            wait_redis(port, child=child)
            self.ports.append(port)
        # Wait until the replica is in sync and every Sentinel knows it and the others.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._settled():
                return
            time.sleep(0.2)
        raise StackError("Sentinels did not discover the replica and each other within 30s")

    def _settled(self) -> bool:
        try:
            info = redis.Redis(port=self.replica.port).info("replication")
            if info.get("master_link_status") != "up":
                return False
            for port in self.ports:
                s = redis.Redis(port=port, decode_responses=True)
                master = s.sentinel_master(SENTINEL_MASTER)
                if int(master["num-slaves"]) < 1 or int(master["num-other-sentinels"]) < 2:
                    return False
        except (redis.RedisError, OSError):
            return False
        return True

    @property
    def addresses(self) -> str:
        return ",".join(f"127.0.0.1:{p}" for p in self.ports)

    def master_port(self) -> int:
        s = redis.sentinel.Sentinel([("127.0.0.1", p) for p in self.ports], socket_timeout=1)
        return int(s.discover_master(SENTINEL_MASTER)[1])

    def wait_failover(self, old_port: int, timeout: float = 30.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                port = self.master_port()
                if port != old_port:
                    return port
            except (redis.RedisError, OSError):
                pass
            time.sleep(0.2)
        raise StackError(f"no failover within {timeout:.0f}s")


@dataclass
class ChaosStack:
    """Redis (plain or Sentinel), simulator, optional limiter, gateway, workers."""

    tmp: Path
    api_key: str = "chaos-tenant-key-0123456789"
    tenant: str = "chaos"
    queues: tuple[str, ...] = QUEUES
    worker_threads: int = 8
    sentinel: bool = False
    simulator_env: dict[str, str] = field(default_factory=dict)
    #: Extra environment for every service.
    env: dict[str, str] = field(default_factory=dict)
    #: "none": no limiter; "running": a limiter service everyone uses; "down": every
    #: service is pointed at a limiter URL where nothing listens.
    limiter: str = "none"

    group: ProcessGroup = field(init=False)
    redis_node: RedisNode | None = field(init=False, default=None)
    sentinels: SentinelSet | None = field(init=False, default=None)
    gateway: Child | None = field(init=False, default=None)
    workers: dict[str, Child] = field(init=False, default_factory=dict)
    gateway_port: int = field(init=False, default=0)
    simulator_url: str = field(init=False, default="")
    common: dict[str, str] = field(init=False, default_factory=dict)

    def start(self) -> None:
        logs = self.tmp / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        self.group = ProcessGroup(log_dir=logs)
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        if self.sentinel:
            self.sentinels = SentinelSet(self.group, self.tmp / "redis")
            self.sentinels.start()
            redis_env = {
                "AGENTQUEUE_REDIS_URL": self.sentinels.primary.url,
                "AGENTQUEUE_REDIS_SENTINELS": self.sentinels.addresses,
                "AGENTQUEUE_REDIS_SENTINEL_MASTER": SENTINEL_MASTER,
            }
        else:
            self.redis_node = RedisNode(self.group, "redis", self.tmp / "redis")
            self.redis_node.start()
            redis_env = {"AGENTQUEUE_REDIS_URL": self.redis_node.url}

        sim_port = free_port()
        self.simulator_url = f"http://127.0.0.1:{sim_port}"
        self.group.start_service(
            "simulator",
            "agentqueue.simulator",
            {
                "AGENTQUEUE_SIM_HOST": "127.0.0.1",
                "AGENTQUEUE_SIM_PORT": str(sim_port),
                **SIMULATOR_ENV,
                **self.simulator_env,
            },
        )
        wait_http(f"{self.simulator_url}/healthz", self.group)
        self.common = {
            **redis_env,
            "AGENTQUEUE_SIMULATOR_URL": self.simulator_url,
            **SERVICE_ENV,
            **self.env,
        }
        if self.limiter != "none":
            # Budgets make every provider attempt ask the limiter for a lease.
            self.common["AGENTQUEUE_BUDGETS"] = simulator_budgets(self.simulator_url)
            limiter_port = free_port()
            self.common["AGENTQUEUE_LIMITER_URL"] = f"http://127.0.0.1:{limiter_port}"
            if self.limiter == "running":
                self.group.start_service(
                    "limiter",
                    "agentqueue.limiter",
                    {**self.common, "AGENTQUEUE_PORT": str(limiter_port)},
                )
                wait_http(f"http://127.0.0.1:{limiter_port}/readyz", self.group)
        self.gateway_port = free_port()
        self.start_gateway()
        for queue in self.queues:
            self.start_worker(queue)
        wait_workers(self.redis_url(), len(self.queues), self.group, timeout=90)

    # -- services ---------------------------------------------------------------------

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    def start_gateway(self, *, wait: bool = True) -> None:
        self.gateway = self.group.start_service(
            "gateway",
            "agentqueue.gateway",
            {
                **self.common,
                "AGENTQUEUE_PORT": str(self.gateway_port),
                "AGENTQUEUE_API_KEYS": f"{self.tenant}:{self.api_key}",
            },
        )
        if wait:
            self.wait_gateway()

    def wait_gateway(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        import httpx

        while time.monotonic() < deadline:
            assert self.gateway is not None
            if self.gateway.process.poll() is not None:
                raise StackError(f"gateway exited with {self.gateway.process.returncode}")
            try:
                if httpx.get(f"{self.gateway_url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise StackError(f"gateway not ready within {timeout:.0f}s")

    def kill_gateway(self) -> None:
        assert self.gateway is not None
        kill(self.gateway)

    def start_worker(self, queue: str) -> Child:
        child = self.group.start_service(
            f"worker-{queue}",
            "agentqueue.worker",
            {
                **self.common,
                "AGENTQUEUE_QUEUE": queue,
                "AGENTQUEUE_THREADS": str(self.worker_threads),
            },
        )
        self.workers[queue] = child
        return child

    def kill_worker(self, queue: str) -> None:
        kill(self.workers[queue])

    # -- Redis --------------------------------------------------------------------------

    def redis_url(self) -> str:
        """URL of the current primary (after a failover, the promoted replica)."""
        if self.sentinels is not None:
            return f"redis://127.0.0.1:{self.sentinels.master_port()}/0"
        assert self.redis_node is not None
        return self.redis_node.url

    def redis_client(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis_url(), decode_responses=True)

    def kill_redis(self) -> None:
        assert self.redis_node is not None
        self.redis_node.kill()

    def restart_redis(self) -> None:
        assert self.redis_node is not None
        self.redis_node.start()

    # -- end ----------------------------------------------------------------------------

    def stop(self) -> None:
        """SIGKILL everything (nothing here needs a graceful end), close the logs."""
        for child in self.group.children:
            kill(child)
        self.group.stop(timeout=5)

    def tail_logs(self, chars: int = 3000) -> str:
        out = []
        for log in sorted((self.tmp / "logs").glob("*.log")):
            out.append(f"--- {log.name}\n{log.read_text(errors='replace')[-chars:]}")
        return "\n".join(out)


Action = Callable[[], None]

"""The gateway's one settings object (env prefix ``AGENTQUEUE_``)."""

from __future__ import annotations

import hashlib

from pydantic import Field, SecretStr, model_validator

from agentqueue.core.settings import CoreSettings


class GatewaySettings(CoreSettings):
    """HTTP front door: auth, limits, where to listen."""

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    #: Seconds an idle keep-alive connection stays open. Longer than a load balancer's
    #: idle timeout (AWS ALB 60 s) and a client pool's (httpx 5 s), so that the client
    #: side closes first: uvicorn's 5 s default raced pooled connections' next request
    #: (bench/scenario: httpx ReadError on a reused connection; behind an ALB, 502s).
    keep_alive_seconds: int = Field(default=75, ge=1, le=3600)
    #: Connections to Redis per gateway process. Every interactive call makes several
    #: Redis round trips before its first token (the key, the cache, the usage), so the
    #: pool bounds how many calls progress at once: a call that finds it empty waits.
    redis_max_connections: int = Field(default=64, ge=4, le=4096)
    #: Server processes (uvicorn workers) sharing the port: streams are CPU-bound in the
    #: SDKs' parsing, so one process per core (in Kubernetes, prefer more replicas).
    workers: int = Field(default=1, ge=1, le=64)
    #: API keys as ``tenant:key`` pairs, comma-separated. Only their hashes are kept.
    api_keys: SecretStr = SecretStr("")
    #: Serve without authentication, every caller being tenant ``local``. Local demo only.
    #: Never opens the admin API (``/admin/v1``), which always wants an admin key.
    auth_disabled: bool = False
    #: The bootstrap admin key (``AGENTQUEUE_ADMIN_KEY``, 16+ characters): a fresh install
    #: has an admin; compared in constant time as a hash, never logged. Empty: admin
    #: keys only from Redis (role ``admin``, ``POST /admin/v1/keys``).
    admin_key: SecretStr = SecretStr("")
    #: A file holding the bootstrap admin key (a mounted Kubernetes Secret), read at start
    #: when ``admin_key`` is empty.
    admin_key_file: str = ""
    #: Days the audit log of admin actions is kept (``aq:audit``).
    audit_ttl_days: int = Field(default=90, ge=1, le=3650)
    #: Largest request body accepted, bytes; larger ones get 413.
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    #: Seconds an interactive call may wait for its budget before it falls back or gets
    #: 429 (shorter than a worker's: someone is waiting for the answer).
    interactive_max_wait: float = Field(default=5.0, ge=0)
    #: Seconds between keep-alive comments on an idle task event stream (SSE), so that
    #: proxies do not close it; also how often a silent stream re-reads the task record.
    events_keepalive: float = Field(default=15.0, gt=0, le=300)
    #: Event streams one gateway process serves at once (each holds a Redis connection
    #: of its own pool while it waits); one more gets 503.
    events_max_streams: int = Field(default=256, ge=1, le=10_000)
    #: Seconds a Redis command keeps retrying through a connection failure (a restart, a
    #: failover) before the request fails (a submission then gets 503).
    redis_retry_seconds: float = Field(default=15.0, ge=0, le=300)
    #: Seconds between reconciler passes (core/tasks/reconciler.py), so that tasks of a
    #: queue with no worker still get a lost message back; 0 runs none in this process.
    reconcile_interval: float = Field(default=5.0, ge=0, le=3600)
    #: Times a task whose message was lost is requeued before it fails (``Lost``).
    reconcile_max_requeues: int = Field(default=3, ge=0, le=100)
    #: Stream a provider's own bytes to a caller speaking its protocol (OpenAI Chat
    #: Completions to OpenAI, Anthropic Messages to Anthropic) instead of parsing and
    #: re-encoding every chunk (``gateway/compat/passthrough.py``). ``false`` translates
    #: every stream, as before: the operator's switch, and the benchmark's "before".
    stream_passthrough: bool = True
    #: Mark the console's session cookies ``Secure`` even on plain http: set it when TLS
    #: ends in front of the gateway (an ingress), which the gateway cannot see. Unset,
    #: they are ``Secure`` on https only (a local stack on http://127.0.0.1 must work).
    console_secure_cookies: bool = False
    #: Task kinds the workers run; others are refused with 422 at submission.
    #: Add the kinds of agents you install as entry points (``agentqueue.agents``).
    task_kinds: list[str] = Field(default_factory=lambda: ["completion", "map_reduce", "extract"])

    @model_validator(mode="after")
    def _keys_well_formed(self) -> GatewaySettings:
        self.key_hashes()  # raises on a malformed entry; keys may also live in Redis
        return self

    def admin_key_hash(self) -> str | None:
        """sha256 of the bootstrap admin key (from ``admin_key`` or ``admin_key_file``);
        None when there is none. A key under 16 characters is refused."""
        key = self.admin_key.get_secret_value().strip()
        if not key and self.admin_key_file:
            with open(self.admin_key_file, encoding="utf-8") as f:
                key = f.read().strip()
        if not key:
            return None
        if len(key) < 16:
            raise ValueError("AGENTQUEUE_ADMIN_KEY: at least 16 characters")
        return hashlib.sha256(key.encode()).hexdigest()

    def key_hashes(self) -> dict[str, str]:
        """sha256(key) → tenant, parsed from ``api_keys``."""
        out = {}
        for pair in self.api_keys.get_secret_value().split(","):
            tenant, sep, key = pair.strip().partition(":")
            if not sep or not tenant or len(key) < 16:
                if pair.strip():
                    raise ValueError(
                        "AGENTQUEUE_API_KEYS entries must be tenant:key with a key of "
                        "at least 16 characters"
                    )
                continue
            out[hashlib.sha256(key.encode()).hexdigest()] = tenant
        return out

"""The worker's one settings object (env prefix ``AGENTQUEUE_``)."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from agentqueue.core.base.priority import Priority
from agentqueue.core.settings import CoreSettings
from agentqueue.core.tasks.webhooks import secret_key


class WorkerSettings(CoreSettings):
    """A worker process consumes exactly one priority queue."""

    #: The queue this process consumes; one worker Deployment per queue.
    queue: Priority = Priority.STANDARD
    #: Dramatiq worker threads: tasks run concurrently in this process.
    threads: int = Field(default=8, ge=1, le=256)
    #: Seconds SIGTERM waits for running tasks before their messages are requeued.
    #: Keep below Kubernetes' terminationGracePeriodSeconds (30 s by default).
    shutdown_timeout: float = Field(default=25.0, gt=0)
    #: Retries of a task after transient failures (rate limits, outages), then it fails.
    max_retries: int = Field(default=5, ge=0)
    #: Seconds of backoff before the first retry when the provider named no retry-after.
    retry_backoff: float = Field(default=2.0, gt=0)
    #: Ceiling of the exponential backoff, seconds.
    retry_backoff_max: float = Field(default=120.0, gt=0)
    #: Seconds one task may run before Dramatiq interrupts it.
    task_time_limit: float = Field(default=1800.0, gt=0)
    #: Milliseconds after which a silent worker's unacked messages are redelivered.
    heartbeat_timeout_ms: int = Field(default=60_000, ge=1000)
    #: How often (per million broker commands) the redelivery sweep runs.
    maintenance_chance: int = Field(default=1000, ge=1, le=1_000_000)
    #: Longest pause, ms, between polls of an idle queue (Dramatiq's default is 1000):
    #: the worst-case dispatch latency of a task arriving at an idle worker.
    poll_interval_ms: int = Field(default=100, ge=10, le=10_000)
    #: Port of the Prometheus /metrics endpoint (on by default); 0 disables it.
    metrics_port: int = Field(default=9100, ge=0, le=65535)
    #: Address the /metrics endpoint binds: this machine only unless told otherwise (a
    #: pod sets 0.0.0.0 so that Prometheus and the readiness probe reach it).
    metrics_host: str = "127.0.0.1"
    #: Seconds a Redis command keeps retrying through a connection failure (a restart, a
    #: failover) before its error reaches the task: its calls and outcome are kept.
    redis_retry_seconds: float = Field(default=15.0, ge=0, le=300)
    #: Seconds between reconciler passes, which requeue tasks whose message was lost
    #: (core/tasks/reconciler.py); 0 runs none in this process.
    reconcile_interval: float = Field(default=5.0, ge=0, le=3600)
    #: Times a task whose message was lost is requeued before it fails (``Lost``).
    reconcile_max_requeues: int = Field(default=3, ge=0, le=100)

    #: The batch path (``core/batches``): this worker's ``completion`` tasks go to the
    #: providers' batch APIs at half price (a task can ask with ``batch_api`` too; this
    #: worker must then have it on). The AgentQueue's ``batchApi`` sets it.
    batch_api: bool = False
    #: The provider of batches (``openai``, ``anthropic``, ``google``); unset: a task's
    #: named model's provider, else the first of ``provider_order`` with a batch API.
    batch_provider: str | None = None
    #: Flush a provider batch at this many requests, bytes, or oldest request's age (s).
    batch_max_requests: int = Field(default=1000, ge=1, le=100_000)
    batch_max_bytes: int = Field(default=50_000_000, ge=1000)
    batch_max_age: float = Field(default=60.0, ge=0)
    #: First poll of a submitted batch after this many seconds, doubling to the max.
    batch_poll_interval: float = Field(default=30.0, gt=0)
    batch_poll_max: float = Field(default=600.0, gt=0)
    #: Seconds between the batch loop's passes (flush, poll).
    batch_loop_interval: float = Field(default=1.0, gt=0)
    #: Failed batch attempts of a request before its task fails.
    batch_max_retries: int = Field(default=3, ge=0)
    #: A failed request retries online (a queue message) rather than in the next batch.
    batch_retry_online: bool = False
    #: Tokens each provider may hold in open batches (``{"openai": 2000000}``): the
    #: batch budget, apart from the online one.
    batch_enqueued_tokens: dict[str, int] = Field(default_factory=dict)

    #: Signing secret of completion webhooks: ``whsec_`` + base64 of 24-64 random bytes
    #: (``agentqueue.core.tasks.webhooks.generate_secret()`` makes one). Unset: no webhook is
    #: ever sent unsigned; each delivery records that the secret is missing.
    webhook_secret: SecretStr | None = None
    #: Delivery attempts of one webhook before it is given up.
    webhook_max_attempts: int = Field(default=8, ge=1, le=50)
    #: Seconds one delivery attempt may take (connect, send, answer).
    webhook_timeout: float = Field(default=10.0, gt=0, le=120)
    #: Seconds before the first retry of a failed delivery; doubles each attempt (jittered).
    webhook_backoff: float = Field(default=10.0, gt=0)
    #: Ceiling of the delivery backoff, seconds.
    webhook_backoff_max: float = Field(default=3600.0, gt=0)

    @field_validator("webhook_secret")
    @classmethod
    def _whsec(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value():
            secret_key(value.get_secret_value())  # ValueError says what is wrong
            return value
        return None

"""The operator's one settings object (env prefix ``AGENTQUEUE_``).

Besides :class:`CoreSettings` (``AGENTQUEUE_REDIS_URL`` for queue depth and usage,
``AGENTQUEUE_LIMITER_URL`` for budget headroom; unset, headroom is read from Redis with
the limiter's own script), the variables the chart sets per docs/operator.md.
"""

from __future__ import annotations

from pydantic import Field

from agentqueue.core.settings import CoreSettings


class OperatorSettings(CoreSettings):
    #: The one namespace whose AgentQueues this operator serves; empty: all namespaces
    #: (then it needs a ClusterRole, and peers through a ClusterKopfPeering).
    operator_namespace: str = ""
    #: Seconds between two reconciles of one AgentQueue: about the worst-case delay before
    #: a burst shows in the replicas (KEDA polls every 30 s, then the HPA syncs every
    #: 15 s). kopf counts it from the end of a reconcile, so a cycle is this plus ~0.1 s:
    #: 3 s keeps a burst's reaction p99 under 5 s (``python -m bench.autoscale_reaction``)
    #: for one Redis and one API read per AgentQueue each cycle.
    operator_interval: float = Field(default=3.0, gt=0, le=300)
    #: kopf peering name: replicas sharing it elect one active operator (highest priority).
    operator_peering: str = "agentqueue"
    #: Run without peering (a single replica, or a dev cluster without the KopfPeering CRDs).
    operator_standalone: bool = False
    #: Peering priority of this replica; the highest-priority live peer is the active one.
    operator_priority: int = Field(default=0, ge=0)
    #: Address and port of the liveness endpoint ``/healthz`` (0 disables it).
    operator_health_host: str = "0.0.0.0"
    operator_health_port: int = Field(default=8080, ge=0, le=65535)
    #: Port of the Prometheus endpoint ``/metrics`` (:mod:`.metrics`; 0 disables it).
    operator_metrics_port: int = Field(default=9100, ge=0, le=65535)
    #: Seconds one limiter headroom request may take before the budget counts as unknown.
    operator_limiter_timeout: float = Field(default=2.0, gt=0)
    #: Seconds per usage counter bucket; workers use 60 (a provider's minute). Tests only.
    operator_usage_bucket_seconds: int = Field(default=60, ge=1, le=3600)
    #: Weight of the newest busy minute in the learned per-replica rates (EWMA).
    operator_learning_alpha: float = Field(default=0.3, gt=0, le=1)

    @property
    def health_url(self) -> str | None:
        if not self.operator_health_port:
            return None
        return f"http://{self.operator_health_host}:{self.operator_health_port}/healthz"

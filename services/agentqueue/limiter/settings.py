"""The limiter service's one settings object (env prefix ``AGENTQUEUE_``)."""

from __future__ import annotations

from pydantic import Field

from agentqueue.core.settings import CoreSettings


class LimiterSettings(CoreSettings):
    host: str = "127.0.0.1"
    #: Port of the limiter's HTTP API.
    port: int = Field(default=8091, ge=1, le=65535)
    #: Seconds an idle keep-alive connection stays open. Longer than a load balancer's
    #: idle timeout (AWS ALB 60 s) and a client pool's (httpx 5 s), so that the client
    #: side closes first: uvicorn's 5 s default raced pooled connections' next request
    #: (bench/scenario: httpx ReadError on a reused connection; behind an ALB, 502s).
    keep_alive_seconds: int = Field(default=75, ge=1, le=3600)
    #: Seconds an unsettled lease lives before its output reservation is given back.
    lease_ttl: float = Field(default=300.0, gt=0)
    #: Seconds between refreshes of the headroom gauges on ``/metrics``.
    headroom_interval: float = Field(default=2.0, gt=0)

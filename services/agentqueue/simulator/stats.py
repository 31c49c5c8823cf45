"""Counters and a bounded call log, read back at ``GET /_sim/stats``.

The log's start and end times let tests check that calls overlapped (parallel steps)
or were spaced (rate limits) as intended. Calls to a named deployment (``/d/{name}/…``)
are counted under their provider and under the deployment.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from dataclasses import asdict, dataclass, field
from typing import Any

LOG_SIZE = 10_000


@dataclass
class ProviderCounters:
    requests: int = 0
    ok: int = 0
    rate_limited: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    input_tokens: int = 0
    output_tokens: int = 0


@dataclass
class CallLog:
    provider: str
    model: str
    key_hint: str
    start: float
    end: float
    status: int
    stream: bool
    input_tokens: int = 0
    output_tokens: int = 0
    deployment: str | None = None


class Stats:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.providers: dict[str, ProviderCounters] = {}
        self.deployments: dict[str, ProviderCounters] = {}
        #: By ``provider:model``: providers' limits are per model, so is what they served.
        self.models: dict[str, ProviderCounters] = {}
        self.log: deque[CallLog] = deque(maxlen=LOG_SIZE)

    def _of(self, provider: str) -> ProviderCounters:
        return self.providers.setdefault(provider, ProviderCounters())

    @staticmethod
    def _count(c: ProviderCounters, status: int, input_tokens: int, output_tokens: int) -> None:
        c.requests += 1
        if status == 200:
            c.ok += 1
            c.input_tokens += input_tokens
            c.output_tokens += output_tokens
        elif status == 429:
            c.rate_limited += 1
        else:
            c.errors[str(status)] += 1

    def record(
        self,
        provider: str,
        model: str,
        key: str,
        start: float,
        status: int,
        *,
        stream: bool = False,
        input_tokens: int = 0,
        output_tokens: int = 0,
        deployment: str | None = None,
    ) -> None:
        self._count(self._of(provider), status, input_tokens, output_tokens)
        per_model = self.models.setdefault(f"{provider}:{model}", ProviderCounters())
        self._count(per_model, status, input_tokens, output_tokens)
        if deployment is not None:
            counters = self.deployments.setdefault(deployment, ProviderCounters())
            self._count(counters, status, input_tokens, output_tokens)
        self.log.append(
            CallLog(
                provider,
                model,
                key[:8],
                start,
                time.time(),
                status,
                stream,
                input_tokens if status == 200 else 0,
                output_tokens if status == 200 else 0,
                deployment,
            )
        )

    def as_dict(self, *, calls: bool = True) -> dict[str, Any]:
        """Every counter; ``calls=False`` leaves out the call log (a poller's cheap read)."""
        counted: dict[str, Any] = {
            "providers": {
                p: {**asdict(c), "errors": dict(c.errors)} for p, c in self.providers.items()
            },
            "deployments": {
                d: {**asdict(c), "errors": dict(c.errors)} for d, c in self.deployments.items()
            },
            "models": {m: {**asdict(c), "errors": dict(c.errors)} for m, c in self.models.items()},
        }
        if calls:
            counted["calls"] = [asdict(entry) for entry in self.log]
        return counted

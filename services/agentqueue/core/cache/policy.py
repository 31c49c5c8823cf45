"""Whether a request may read the cache, be stored, and for how long.

Only deterministic requests (temperature 0) are cached by default: a request with a
higher temperature asks for a sample, and serving it the same sample twice changes what
it asked for. A request may opt in (``allow_nondeterministic``), as may a deployment
(``cache_nondeterministic``). The TTL is the request's, else its tenant's, else the
default; a TTL of 0 stores nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from agentqueue.core.llm.messages import CacheControl, CompletionRequest

#: The tenant entry that applies to every tenant not named.
ANY_TENANT = "*"


@dataclass(frozen=True)
class Decision:
    """What the pipeline does with the cache for one request."""

    read: bool
    store: bool
    ttl: int
    semantic: bool
    #: Why the cache is bypassed, for logs and metrics ("" when it is not).
    reason: str = ""


@dataclass(frozen=True)
class CachePolicy:
    enabled: bool = True
    default_ttl: int = 3600
    tenant_ttls: Mapping[str, int] = field(default_factory=dict)
    nondeterministic: bool = False
    semantic: bool = False
    semantic_tenants: Sequence[str] = ()

    def ttl(self, request: CompletionRequest, tenant: str | None) -> int:
        control = request.cache
        if control is not None and control.ttl is not None:
            return control.ttl
        if tenant is not None and tenant in self.tenant_ttls:
            return self.tenant_ttls[tenant]
        return self.tenant_ttls.get(ANY_TENANT, self.default_ttl)

    def semantic_on(self, control: CacheControl, tenant: str | None) -> bool:
        if control.semantic is not None:
            return control.semantic
        return self.semantic or (tenant is not None and tenant in self.semantic_tenants)

    def decide(self, request: CompletionRequest, tenant: str | None) -> Decision:
        control = request.cache or CacheControl()
        if not self.enabled:
            return Decision(False, False, 0, False, "disabled")
        deterministic = request.temperature == 0
        if not (deterministic or control.allow_nondeterministic or self.nondeterministic):
            return Decision(False, False, 0, False, "nondeterministic")
        ttl = self.ttl(request, tenant)
        store = not control.no_store and ttl > 0
        read = not control.no_cache
        reason = "" if read or store else "controls"
        semantic = self.semantic_on(control, tenant) and (read or store)
        return Decision(read, store, ttl, semantic, reason)

"""Why a reconcile failed, in the words the AgentQueue's Ready condition and Events use.

A failure is translated once, where it leaves the reconcile, into a condition reason:

- ``KubernetesApiError``: the API server refused a call or could not be reached
  (:class:`~.kube.KubeApiError`); the message names the verb, the object and the API's
  code, reason and message (e.g. the RBAC 403), so ``kubectl describe`` says why.
- ``RedisUnavailable``: the queue's depth or the workers' usage could not be read, so
  nothing is decided blind.
- ``ReconcileFailed``: anything else, i.e. a bug; the traceback is in the log.

``InvalidSpec`` is reported the same way, by the handler, before any of these can happen.
An unreachable limiter is not a failure: the reconcile goes on with the budget cap held
at the running replicas and says so in the ``BudgetLimited`` condition
(``LimiterUnreachable``).
"""

from __future__ import annotations

from dataclasses import dataclass

from redis.exceptions import RedisError

from agentqueue.operator.kube import KubeApiError

KUBERNETES_API_ERROR = "KubernetesApiError"
REDIS_UNAVAILABLE = "RedisUnavailable"
RECONCILE_FAILED = "ReconcileFailed"
INVALID_SPEC = "InvalidSpec"
#: The Ready reasons that mean "failing": a restarted operator reads them back.
REASONS = frozenset({KUBERNETES_API_ERROR, REDIS_UNAVAILABLE, RECONCILE_FAILED, INVALID_SPEC})
#: The Normal Event once a failing AgentQueue reconciles again.
RECOVERED = "Recovered"


@dataclass(frozen=True)
class Failure:
    reason: str
    message: str


def failure_of(exc: Exception) -> Failure:
    """The condition reason and message for what a reconcile raised."""
    if isinstance(exc, KubeApiError):
        return Failure(KUBERNETES_API_ERROR, f"Kubernetes API: {exc}")
    if isinstance(exc, RedisError):
        return Failure(REDIS_UNAVAILABLE, f"queue depth unreadable ({type(exc).__name__}: {exc})")
    return Failure(RECONCILE_FAILED, f"reconcile failed: {type(exc).__name__}: {exc}")

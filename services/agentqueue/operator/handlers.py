"""The kopf wiring: which handlers run, on what, with which settings.

Handlers are registered on a registry built per run (:func:`build_registry`) rather than
at import time, so the reconcile interval comes from settings and tests can run an
operator with short intervals beside the real one. The handlers are thin: parse the
spec, call :class:`~.reconcile.Reconciler`, write its status and post its Events
(:mod:`.report`). The timer never raises and never uses kopf's ``patch``: a failure is
the reconcile's outcome (Ready=False, a Warning when it starts), and the next attempt
comes on the normal interval (see :mod:`.report` for why kopf's patch is avoided).

- ``login``: in-cluster service account, else kubeconfig (kopf's own minimal logins);
  the same credentials feed the operator's own client (Deployments, AgentQueue status).
- ``peers`` (an index): every AgentQueue by namespace, for the budget share.
- ``reconcile`` (a timer, every ``AGENTQUEUE_OPERATOR_INTERVAL`` seconds): the loop.
- ``forget`` (on delete, optional): drop the queue's window and learned rates.

kopf's timers put a finalizer on each AgentQueue (``agentqueue.io/operator``) so that the
timer stops before the object goes; see docs/operator.md for deleting one while the
operator is down. The worker Deployment carries an owner reference and is garbage
collected by Kubernetes with its AgentQueue.
"""

from __future__ import annotations

import logging
from typing import Any

import kopf
from pydantic import ValidationError

from agentqueue.core.base.redisconn import async_redis
from agentqueue.core.ratelimit.http_budgets import HttpBudgets
from agentqueue.core.ratelimit.leases import Budgets
from agentqueue.core.ratelimit.redis_budgets import RedisBudgets
from agentqueue.operator.failures import INVALID_SPEC, Failure
from agentqueue.operator.kube import KubeClient, Resource
from agentqueue.operator.metrics import forget as forget_metrics
from agentqueue.operator.metrics import record as record_metrics
from agentqueue.operator.reconcile import Peer, Reconciler
from agentqueue.operator.report import report
from agentqueue.operator.settings import OperatorSettings
from agentqueue.operator.spec import AgentQueueSpec

GROUP, VERSION, PLURAL = "agentqueue.io", "v1alpha1", "agentqueues"
FINALIZER = "agentqueue.io/operator"

log = logging.getLogger(__name__)


class Runtime:
    """The clients one operator process shares across all AgentQueues (kopf's ``memo``)."""

    def __init__(self, settings: OperatorSettings) -> None:
        self.settings = settings
        # A short retry: each pass reads again anyway, and an outage must show at once.
        self.redis = async_redis(settings, max_connections=16, retry_seconds=1.0)
        self.budgets: Budgets = (
            HttpBudgets(settings.limiter_url, timeout=settings.operator_limiter_timeout)
            if settings.limiter_url
            else RedisBudgets(self.redis)
        )
        self.kube: KubeClient | None = None
        self.reconciler = Reconciler(
            self.redis,
            self.budgets,
            self.deployments,
            usage_bucket_seconds=settings.operator_usage_bucket_seconds,
            learning_alpha=settings.operator_learning_alpha,
        )

    def _client(self) -> KubeClient:
        if self.kube is None:  # kopf logs in before any handler runs: a bug if it shows
            raise kopf.TemporaryError("not logged in to the Kubernetes API yet", delay=1)
        return self.kube

    def deployments(self) -> Resource:
        return self._client().resource("apps", "v1", "deployments")

    def agentqueues(self) -> Resource:
        return self._client().resource(GROUP, VERSION, PLURAL)

    async def use(self, info: kopf.ConnectionInfo) -> None:
        old, self.kube = self.kube, KubeClient.connect(info)
        if old is not None:
            await old.aclose()

    async def aclose(self) -> None:
        if self.kube is not None:
            await self.kube.aclose()
        if isinstance(self.budgets, HttpBudgets):
            await self.budgets.aclose()
        await self.redis.aclose()


def configure_kopf(kopf_settings: kopf.OperatorSettings) -> None:
    """Our storage names, and Events only for what we post ourselves."""
    kopf_settings.persistence.finalizer = FINALIZER
    kopf_settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(
        prefix="agentqueue.io"
    )
    kopf_settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix="agentqueue.io", key="last-handled-configuration"
    )
    kopf_settings.posting.level = logging.WARNING  # per-tick handler logs stay in the log


def build_registry(settings: OperatorSettings) -> kopf.OperatorRegistry:
    registry = kopf.OperatorRegistry()
    interval = settings.operator_interval

    @kopf.on.login(registry=registry)
    async def login(memo: Any, **kwargs: Any) -> kopf.ConnectionInfo | None:
        info = kopf.login_with_service_account(**kwargs) or kopf.login_with_kubeconfig(**kwargs)
        if info is not None:
            await memo.runtime.use(info)
        return info

    @kopf.on.cleanup(registry=registry)
    async def close(memo: Any, **_: Any) -> None:
        await memo.runtime.aclose()

    @kopf.index(GROUP, VERSION, PLURAL, id="peers", registry=registry)
    def peers(
        namespace: str | None, name: str, spec: kopf.Spec, **_: Any
    ) -> dict[str | None, Peer]:
        try:
            parsed = AgentQueueSpec.of(spec)
        except ValidationError:
            return {}
        peer = Peer(name, parsed.queue, parsed.limiter_priority, frozenset(parsed.budgets))
        return {namespace: peer}

    @kopf.timer(
        GROUP,
        VERSION,
        PLURAL,
        id="reconcile",
        interval=interval,
        backoff=interval,
        registry=registry,
    )
    async def reconcile(
        body: kopf.Body,
        spec: kopf.Spec,
        status: kopf.Status,
        meta: kopf.Meta,
        name: str,
        namespace: str | None,
        uid: str,
        memo: Any,
        logger: logging.Logger | logging.LoggerAdapter[Any],
        **kwargs: Any,
    ) -> None:
        runtime: Runtime = memo.runtime
        index: kopf.Index[str | None, Peer] = kwargs["peers"]  # the "peers" index, by its name
        if namespace is None:  # the CRD is namespaced; kopf types allow cluster objects
            return
        parsed: AgentQueueSpec | None
        try:
            parsed = AgentQueueSpec.of(spec)
        except ValidationError as exc:
            parsed = None
            logger.warning("invalid spec: %s", exc)
            failure = Failure(INVALID_SPEC, f"invalid spec: {exc}"[:1000])
            outcome = runtime.reconciler.failed(uid, status, failure, meta.get("generation"))
        else:
            outcome = await runtime.reconciler.reconcile(
                uid=uid,
                name=name,
                namespace=namespace,
                spec=parsed,
                status=status,
                generation=meta.get("generation"),
                adopt=lambda manifest: kopf.adopt(manifest, owner=body),
                peers=list(index.get(namespace, [])),
            )
        record_metrics(namespace, name, parsed, outcome.status)
        await report(runtime.agentqueues(), body, outcome, logger)

    @kopf.on.delete(GROUP, VERSION, PLURAL, id="forget", optional=True, registry=registry)
    def forget(uid: str, name: str, namespace: str | None, memo: Any, **_: Any) -> None:
        memo.runtime.reconciler.forget(uid)
        forget_metrics(namespace or "", name)

    return registry

"""One reconcile of one AgentQueue: observe, decide, act, report.

Observe: the queue's depth (Redis), the budgets' headroom (limiter), the fleet's usage
in the minutes just closed, and the worker Deployment. Decide: the scaling law on those
(:mod:`.scaling`), through the stabilization window (:mod:`.stabilization`). Act: create
the Deployment if it is missing, patch its template if the spec changed, patch its
replicas if the decision differs. Report: a status patch (:mod:`.status`) and, for every scale,
an Event with the reason. Everything but the Kubernetes and Redis calls is pure and lives
in the modules named above; this one only sequences them.

A reconcile that fails (the API server refuses, Redis is down, a bug) does not raise: the
failure becomes its outcome (:mod:`.failures`), Ready=False with the reason, and a Warning
only when the failure starts (:mod:`.incidents`). Raising would leave the AgentQueue's
status silent and the reason in the operator's log only.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis

from agentqueue.core.base.priority import Priority
from agentqueue.core.queues.depth import QueueDepth, read_depth
from agentqueue.core.queues.usage import bucket_of, read_usage
from agentqueue.core.ratelimit.leases import Budgets
from agentqueue.operator.budget_share import queue_share_tpm
from agentqueue.operator.conditions import DecidedConditions
from agentqueue.operator.deployment import (
    TEMPLATE_HASH,
    deployment_name,
    worker_deployment,
)
from agentqueue.operator.failures import RECONCILE_FAILED, Failure, failure_of
from agentqueue.operator.headroom import read_budgets
from agentqueue.operator.incidents import failure_events, recovery_events
from agentqueue.operator.kube import Resource
from agentqueue.operator.learning import ReplicaRateLearner
from agentqueue.operator.scaling import ScalingInput, desired_replicas
from agentqueue.operator.spec import AgentQueueSpec
from agentqueue.operator.stabilization import StabilizationWindow
from agentqueue.operator.status import (
    ScaleEvent,
    failed_status,
    held_message,
    now_iso,
    queue_status,
)

log = logging.getLogger(__name__)


@dataclass
class QueueMemory:
    """What the operator remembers about one AgentQueue between reconciles."""

    window: StabilizationWindow
    learner: ReplicaRateLearner
    limiter_reachable: bool = True


@dataclass(frozen=True)
class Peer:
    """Another AgentQueue in the namespace, as the budget share needs to know it."""

    name: str
    queue: Priority
    priority: Priority
    budgets: frozenset[str]


@dataclass
class Outcome:
    status: dict[str, Any]
    events: list[ScaleEvent] = field(default_factory=list)
    #: Replicas the Deployment was set to.
    replicas: int = 0


@dataclass
class Seen:
    """The worker Deployment as this reconcile read it, for the status if a later step fails."""

    read: bool = False
    deployment: Mapping[str, Any] | None = None

    @property
    def running(self) -> int | None:
        if not self.read:
            return None
        return running_replicas(self.deployment) if self.deployment else 0

    @property
    def current(self) -> int:
        return int(((self.deployment or {}).get("spec") or {}).get("replicas") or 0)

    def held(self) -> str:
        """What a failure leaves the workers at: the operator decides nothing blind."""
        if not self.read:
            return "replicas left as they are"
        if self.deployment is None:
            return "no worker Deployment yet"
        return f"replicas left at {self.current}"


def ready_message(status: Mapping[str, Any]) -> str:
    for condition in status.get("conditions") or ():
        if condition.get("type") == "Ready":
            return str(condition.get("message") or "")
    return ""


def running_replicas(deployment: Mapping[str, Any]) -> int:
    """Pods ready to consume; without a controller (no status yet), the spec's count."""
    status = deployment.get("status") or {}
    if "observedGeneration" in status:
        return int(status.get("readyReplicas") or 0)
    return int((deployment.get("spec") or {}).get("replicas") or 0)


class Reconciler:
    def __init__(
        self,
        redis: aioredis.Redis,
        budgets: Budgets,
        deployments: Callable[[], Resource],
        *,
        usage_bucket_seconds: int = 60,
        learning_alpha: float = 0.3,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.redis = redis
        self.budgets = budgets
        self.deployments = deployments
        self.bucket_seconds = usage_bucket_seconds
        self.alpha = learning_alpha
        self.clock = clock
        self.memory: dict[str, QueueMemory] = {}
        self.conditions = DecidedConditions()

    def remember(self, uid: str, spec: AgentQueueSpec, status: Mapping[str, Any]) -> QueueMemory:
        mem = self.memory.get(uid)
        if mem is None:
            learner = ReplicaRateLearner(bucket_seconds=self.bucket_seconds, alpha=self.alpha)
            learner.restore(
                float(status.get("tokensPerMinutePerReplica") or 0),
                float(status.get("messagesPerSecondPerReplica") or 0),
                int(status.get("learnedMinutes") or 0),
            )
            mem = QueueMemory(StabilizationWindow(spec.scale_down.stabilization_seconds), learner)
            self.memory[uid] = mem
        mem.window.resize(spec.scale_down.stabilization_seconds)
        return mem

    def forget(self, uid: str) -> None:
        self.memory.pop(uid, None)
        self.conditions.forget(uid)

    def _previous(self, uid: str, status: Mapping[str, Any]) -> Mapping[str, Any]:
        """The status to build on: the object's, with the conditions last decided here."""
        return {**status, "conditions": self.conditions.previous(uid, status.get("conditions"))}

    def _decided(self, uid: str, status: Mapping[str, Any], outcome: Outcome) -> Outcome:
        conditions = list(outcome.status.get("conditions") or ())
        self.conditions.decided(uid, status.get("conditions"), conditions)
        return outcome

    async def _learn(self, mem: QueueMemory, queue: str, replicas: int, depth: QueueDepth) -> None:
        current = bucket_of(self.clock(), self.bucket_seconds)
        closed = mem.learner.closed(current)
        if closed:
            for usage in await read_usage(self.redis, queue, closed):
                mem.learner.learn(usage)
        mem.learner.observe(current, replicas, busy=depth.ready > 0)

    async def _higher_usage_tpm(
        self, spec: AgentQueueSpec, name: str, peers: Sequence[Peer]
    ) -> dict[Priority, float]:
        mine = set(spec.budgets)
        last = bucket_of(self.clock(), self.bucket_seconds) - 1
        out: dict[Priority, float] = {}
        for peer in peers:
            if peer.name == name or not (peer.budgets & mine):
                continue
            (usage,) = await read_usage(self.redis, peer.queue.value, [last])
            per_minute = usage.tokens * 60.0 / self.bucket_seconds
            out[peer.priority] = out.get(peer.priority, 0.0) + per_minute
        return out

    async def reconcile(
        self,
        *,
        uid: str,
        name: str,
        namespace: str,
        spec: AgentQueueSpec,
        status: Mapping[str, Any],
        generation: int | None,
        adopt: Callable[[dict[str, Any]], None],
        peers: Sequence[Peer] = (),
    ) -> Outcome:
        """The status and Events after one reconcile; a failure is an outcome, not raised."""
        api = self.deployments()
        previous = self._previous(uid, status)
        seen = Seen()
        try:
            outcome = await self._reconcile(
                api, seen, uid, name, namespace, spec, previous, generation, adopt, peers
            )
        except Exception as exc:  # translated here, where it leaves the reconcile
            failure = failure_of(exc)
            if failure.reason == RECONCILE_FAILED:
                log.exception("%s/%s: %s", namespace, name, failure.message)
            else:
                log.warning("%s/%s: %s", namespace, name, failure.message)
            return self.failed(uid, status, failure, generation, seen)
        outcome.events[:0] = recovery_events(previous, ready_message(outcome.status))
        return self._decided(uid, status, outcome)

    def failed(
        self,
        uid: str,
        status: Mapping[str, Any],
        failure: Failure,
        generation: int | None,
        seen: Seen | None = None,
    ) -> Outcome:
        """Ready=False with the failure's reason; a Warning only if the failure is news.

        ``status``: the object's, as for :meth:`reconcile`.
        """
        previous = self._previous(uid, status)
        seen = seen or Seen()
        failure = Failure(failure.reason, f"{failure.message}; {seen.held()}")
        events = failure_events(previous, failure)
        patch = failed_status(previous, now_iso(), failure, seen.running, generation)
        return self._decided(uid, status, Outcome(patch, events, seen.current))

    async def _reconcile(
        self,
        api: Resource,
        seen: Seen,
        uid: str,
        name: str,
        namespace: str,
        spec: AgentQueueSpec,
        status: Mapping[str, Any],
        generation: int | None,
        adopt: Callable[[dict[str, Any]], None],
        peers: Sequence[Peer],
    ) -> Outcome:
        mem = self.remember(uid, spec, status)
        deployment = await api.get(namespace, deployment_name(name))
        seen.read, seen.deployment = True, deployment
        current = seen.current
        running = running_replicas(deployment) if deployment else 0
        now = now_iso()

        depth = await read_depth(self.redis, spec.queue.value)
        await self._learn(mem, spec.queue.value, running, depth)
        higher = await self._higher_usage_tpm(spec, name, peers)

        view = await read_budgets(self.budgets, spec.budgets)
        rates = mem.learner.rates(seed_tpm=spec.tokens_per_minute_per_replica)
        share = (
            queue_share_tpm(view.sustainable_tpm, spec.limiter_priority, higher)
            if view.limited and view.sustainable_tpm is not None
            else None
        )
        rec = desired_replicas(
            ScalingInput(
                ready=depth.ready,
                in_flight=depth.in_flight,
                delayed=depth.delayed,
                target_per_replica=spec.target_messages_per_replica,
                drain_seconds=spec.drain_time_seconds,
                min_replicas=spec.replicas.min,
                max_replicas=spec.replicas.max,
                current_replicas=current,
                scale_to_zero=spec.scale_to_zero,
                throughput_per_replica=rates.messages_per_second,
                budget_tpm=share,
                tpm_per_replica=rates.tpm_per_replica,
                held_cap=None if view.reachable else current,
            )
        )
        replicas = min(
            mem.window.apply(self.clock(), rec.replicas, ceiling=rec.budget_cap),
            spec.replicas.max,
        )
        held = replicas > rec.replicas
        reason = rec.reason
        if held:
            window = spec.scale_down.stabilization_seconds
            reason = f"{rec.replicas} recommended, held by the {window}s window; {rec.reason}"

        log.debug("%s/%s: %s, %d -> %d: %s", namespace, name, depth, current, replicas, reason)
        events = await self._act(api, namespace, name, spec, deployment, replicas, reason, adopt)
        if deployment is None:
            running = 0
        elif "observedGeneration" not in (deployment.get("status") or {}):
            running = replicas  # no controller runs pods here: take the spec's word

        if view.reachable != mem.limiter_reachable:
            mem.limiter_reachable = view.reachable
            if not view.reachable:
                events.append(
                    ScaleEvent("Warning", "LimiterUnreachable", held_message(view, current))
                )
        scaled = replicas != current or deployment is None
        return Outcome(
            status=queue_status(
                previous=status,
                now=now,
                depth=depth,
                view=view,
                share=share,
                rec=rec,
                rates=rates,
                replicas=replicas,
                running=running,
                scale_reason=reason if scaled else None,
                held=held,
                generation=generation,
            ),
            events=events,
            replicas=replicas,
        )

    @staticmethod
    async def _act(
        api: Resource,
        namespace: str,
        name: str,
        spec: AgentQueueSpec,
        deployment: Mapping[str, Any] | None,
        replicas: int,
        reason: str,
        adopt: Callable[[dict[str, Any]], None],
    ) -> list[ScaleEvent]:
        """Create the Deployment, or patch its template and replicas; the Events to post."""
        manifest = worker_deployment(name, spec, replicas)
        if deployment is None:
            adopt(manifest)
            await api.create(namespace, manifest)
            created = f"deployment {manifest['metadata']['name']} with {replicas} replica(s)"
            return [ScaleEvent("Normal", "Created", f"{created}: {reason}")]
        events = []
        # A JSON patch: the template is replaced whole (a merge patch could not remove a
        # field the spec no longer sets), and replicas set in the same request.
        ops: list[dict[str, Any]] = []
        wanted = manifest["metadata"]["annotations"][TEMPLATE_HASH]
        annotations = dict(deployment.get("metadata", {}).get("annotations") or {})
        if annotations.get(TEMPLATE_HASH) != wanted:
            annotations[TEMPLATE_HASH] = wanted
            ops.append({"op": "add", "path": "/metadata/annotations", "value": annotations})
            ops.append(
                {"op": "replace", "path": "/spec/template", "value": manifest["spec"]["template"]}
            )
            events.append(ScaleEvent("Normal", "Updated", "worker template follows the spec"))
        current = int((deployment.get("spec") or {}).get("replicas") or 0)
        if replicas != current:
            ops.append({"op": "add", "path": "/spec/replicas", "value": replicas})
            verb = "ScaledUp" if replicas > current else "ScaledDown"
            events.append(ScaleEvent("Normal", verb, f"{current} -> {replicas}: {reason}"))
        if ops:
            await api.patch(namespace, deployment_name(name), ops)
        return events

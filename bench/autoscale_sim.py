"""A discrete-time model of a day of agent work on three queues sharing one provider budget.

The world the two scaling laws are compared in (:mod:`bench.autoscale` runs it). One step
is one second; every ``interval`` seconds each queue's autoscaler decides its replicas.

- Arrivals: a Poisson stream per queue whose rate follows the day (peak mid-afternoon),
  plus bursts: a batch job dumping thousands of messages, a standard-queue campaign, a
  spike of interactive high-priority work.
- A replica runs ``concurrency`` threads; a thread takes one message, makes its LLM call
  (``tokens`` charged at admission, as OpenAI does) and is busy ``service_s`` seconds.
  New pods are ready ``startup_s`` seconds after the autoscaler asks for them.
- The provider: one token bucket (capacity a minute's tokens, continuous refill at
  ``budget_tpm``). A call that finds too few tokens gets a 429; its message goes back
  as a retry after the provider's retry-after (plus jitter) and fails for good after
  ``max_retries``. Threads serve high, then standard, then batch each second.
- No limiter service in either arm: both fleets call the provider directly, so every
  excess call is a 429 and the scaling law alone makes the difference.

The "ours" arm runs the operator's own code: :func:`desired_replicas`, the stabilization
window, the budget share and the rate learner fed from per-minute usage counters, with
no seed (``tokensPerMinutePerReplica: 0``), so until its first busy minute it knows no
per-replica rate and cannot cap. "ours-seeded" starts from a seed a load test would
give (the true per-replica rate, rounded); the learner takes over from there. The
"depth-only" arm is the same law with no budget and no throughput: KEDA's
``ceil(depth / target)`` with our floor rules, window and interval (kinder to KEDA than
the real thing, which polls every 30 s and counts only the list length).
"""

from __future__ import annotations

import heapq
import math
import random
from collections import deque
from dataclasses import dataclass, field

from agentqueue.core.base.priority import Priority
from agentqueue.core.queues.usage import BucketUsage
from agentqueue.operator.budget_share import queue_share_tpm
from agentqueue.operator.learning import ReplicaRateLearner
from agentqueue.operator.scaling import ScalingInput, desired_replicas
from agentqueue.operator.stabilization import StabilizationWindow

DAY = 86_400


@dataclass(frozen=True)
class Burst:
    start_s: int
    count: int
    spread_s: int


@dataclass(frozen=True)
class QueueModel:
    priority: Priority
    #: Messages per second on average over the day.
    rate: float
    tokens: int
    service_s: float
    target: int
    drain_s: int
    max_replicas: int
    bursts: tuple[Burst, ...] = ()


@dataclass(frozen=True)
class World:
    queues: tuple[QueueModel, ...]
    budget_tpm: float
    seconds: int = DAY
    interval: int = 5
    stabilization_s: int = 300
    concurrency: int = 8
    startup_s: int = 20
    max_retries: int = 5
    #: Seconds after the last arrival the simulation may run on to finish what waits.
    tail_s: int = 6 * 3600
    seed: int = 7


def default_world(seconds: int = DAY, seed: int = 7) -> World:
    hour = 3600
    return World(
        queues=(
            QueueModel(
                Priority.HIGH, rate=0.05, tokens=3_000, service_s=8, target=4, drain_s=30,
                max_replicas=20, bursts=(Burst(10 * hour, 400, 60), Burst(15 * hour, 400, 60)),
            ),
            QueueModel(
                Priority.STANDARD, rate=0.15, tokens=8_000, service_s=20, target=16,
                drain_s=600, max_replicas=30,
                bursts=(Burst(9 * hour, 2_000, 300), Burst(14 * hour, 3_000, 600)),
            ),
            QueueModel(
                Priority.BATCH, rate=0.02, tokens=20_000, service_s=45, target=32,
                drain_s=4 * hour, max_replicas=40,
                bursts=(Burst(2 * hour, 6_000, 30), Burst(13 * hour, 6_000, 30)),
            ),
        ),
        budget_tpm=2_000_000,
        seconds=seconds,
        seed=seed,
    )  # fmt: skip


def _poisson(rng: random.Random, lam: float) -> int:
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def arrivals(world: World) -> dict[Priority, list[int]]:
    """Arrivals per second, per queue: the same day for both arms."""
    rng = random.Random(world.seed)
    out: dict[Priority, list[int]] = {}
    for q in world.queues:
        per_second = [0] * world.seconds
        for t in range(world.seconds):
            daily = 1 + 0.8 * math.sin(2 * math.pi * (t / DAY - 0.375))  # peak at 15:00
            per_second[t] = _poisson(rng, q.rate * daily)
        for b in q.bursts:
            for _ in range(b.count):
                t = b.start_s + rng.randrange(b.spread_s)
                if t < world.seconds:
                    per_second[t] += 1
        out[q.priority] = per_second
    return out


@dataclass
class _Queue:
    model: QueueModel
    ready: deque[tuple[int, int]] = field(default_factory=deque)  # (arrived, attempts)
    delayed: list[tuple[float, int, int]] = field(default_factory=list)  # (due, arrived, n)
    busy: list[tuple[float, int]] = field(default_factory=list)  # (done, arrived)
    pods: list[int] = field(default_factory=list)  # the second each pod is ready
    usage: dict[int, list[int]] = field(default_factory=dict)  # minute -> [tokens, msgs]
    sojourn: list[int] = field(default_factory=list)
    window: StabilizationWindow = field(default_factory=lambda: StabilizationWindow(300))
    learner: ReplicaRateLearner = field(default_factory=ReplicaRateLearner)
    replica_seconds: int = 0
    rejected: int = 0
    failed: int = 0
    arrived: int = 0

    def ready_pods(self, t: int) -> int:
        return sum(1 for at in self.pods if at <= t)

    def add_usage(self, t: int, tokens: int = 0, messages: int = 0) -> None:
        row = self.usage.setdefault(t // 60, [0, 0])
        row[0] += tokens
        row[1] += messages


LAWS = ("depth-only", "ours", "ours-seeded")


@dataclass(frozen=True)
class QueueResult:
    replica_minutes: float
    rejected_429: int
    failed: int
    arrived: int
    done: int
    #: Arrival to completion, seconds, over *every* arrival: a task that failed or never
    #: finished counts as infinitely late, so a law cannot look fast by dropping work.
    sojourn_p50: float
    sojourn_p99: float
    sojourn_max: float


def _pct(values: list[int], lost: int, q: float) -> float:
    n = len(values) + lost
    if n == 0:
        return float("nan")
    rank = min(n - 1, round(q * (n - 1)))
    return float(sorted(values)[rank]) if rank < len(values) else math.inf


def seed_tpm(world: World, m: QueueModel) -> float:
    """What a load test would tell: one busy replica's tokens per minute, rounded."""
    return round(world.concurrency / m.service_s * m.tokens * 60, -4)


def simulate(world: World, law: str) -> dict[Priority, QueueResult]:
    """Run the day under ``law`` (one of :data:`LAWS`)."""
    if law not in LAWS:
        raise ValueError(law)
    rng = random.Random(world.seed + 1)
    incoming = arrivals(world)
    queues = [_Queue(q, window=StabilizationWindow(world.stabilization_s)) for q in world.queues]
    level, per_second = world.budget_tpm, world.budget_tpm / 60
    t = -1
    while True:
        t += 1
        pending = any(q.ready or q.delayed or q.busy for q in queues)
        if t >= world.seconds and (not pending or t >= world.seconds + world.tail_s):
            break
        level = min(world.budget_tpm, level + per_second)
        for q in queues:
            n = incoming[q.model.priority][t] if t < world.seconds else 0
            q.arrived += n
            q.ready.extend((t, 0) for _ in range(n))
            while q.delayed and q.delayed[0][0] <= t:
                _, arrived, n = heapq.heappop(q.delayed)
                q.ready.append((arrived, n))
            while q.busy and q.busy[0][0] <= t:
                _, arrived = heapq.heappop(q.busy)
                q.sojourn.append(t - arrived)
                q.add_usage(t, messages=1)
        if t % world.interval == 0:
            for q in queues:
                _autoscale(world, law, q, queues, t)
        for q in queues:  # high, standard, batch: the order the models are listed in
            level = _serve(world, q, t, level, per_second, rng)
            q.replica_seconds += len(q.pods)
    out = {}
    for q in queues:
        lost = q.arrived - len(q.sojourn)
        out[q.model.priority] = QueueResult(
            replica_minutes=q.replica_seconds / 60,
            rejected_429=q.rejected,
            failed=q.failed,
            arrived=q.arrived,
            done=len(q.sojourn),
            sojourn_p50=_pct(q.sojourn, lost, 0.5),
            sojourn_p99=_pct(q.sojourn, lost, 0.99),
            sojourn_max=math.inf if lost else float(max(q.sojourn, default=0)),
        )
    return out


def _serve(
    world: World, q: _Queue, t: int, level: float, per_second: float, rng: random.Random
) -> float:
    free = q.ready_pods(t) * world.concurrency - len(q.busy)
    m = q.model
    while free > 0 and q.ready:
        free -= 1
        arrived, attempts = q.ready.popleft()
        if level >= m.tokens:
            level -= m.tokens
            q.add_usage(t, tokens=m.tokens)
            heapq.heappush(q.busy, (t + m.service_s * rng.uniform(0.5, 1.5), arrived))
            continue
        q.rejected += 1  # the provider's 429
        if attempts >= world.max_retries:
            q.failed += 1
            continue
        retry_after = (m.tokens - level) / per_second
        heapq.heappush(q.delayed, (t + retry_after + rng.uniform(0, 5), arrived, attempts + 1))
    return level


def _autoscale(world: World, law: str, q: _Queue, queues: list[_Queue], t: int) -> None:
    m = q.model
    running = q.ready_pods(t)
    budget_tpm = tpm = mps = None
    if law != "depth-only":
        minute = t // 60
        for closed in q.learner.closed(minute):
            tokens, messages = q.usage.get(closed, [0, 0])
            q.learner.learn(BucketUsage(closed, tokens, messages))
        q.learner.observe(minute, running, busy=bool(q.ready))
        rates = q.learner.rates(seed_tpm(world, m) if law == "ours-seeded" else None)
        tpm, mps = rates.tpm_per_replica, rates.messages_per_second
        others = {o.model.priority: float(o.usage.get(minute - 1, [0, 0])[0]) for o in queues}
        others.pop(m.priority)
        budget_tpm = queue_share_tpm(world.budget_tpm, m.priority, others)
    rec = desired_replicas(
        ScalingInput(
            ready=len(q.ready),
            in_flight=len(q.busy),
            delayed=len(q.delayed),
            target_per_replica=m.target,
            drain_seconds=m.drain_s,
            min_replicas=0,
            max_replicas=m.max_replicas,
            current_replicas=len(q.pods),
            throughput_per_replica=mps,
            budget_tpm=budget_tpm,
            tpm_per_replica=tpm,
        )
    )
    wanted = min(q.window.apply(t, rec.replicas, ceiling=rec.budget_cap), m.max_replicas)
    if wanted > len(q.pods):
        q.pods.extend([t + world.startup_s] * (wanted - len(q.pods)))
    elif wanted < len(q.pods):
        q.pods.sort()  # keep the oldest (ready) pods, drop the ones still starting
        del q.pods[wanted:]

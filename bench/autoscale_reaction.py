"""Scale reaction time: a burst lands on an idle queue; how soon are the workers scaled up?

    .venv/bin/python -m bench.autoscale_reaction [--bursts 20] [--burst-size 20]
        [--intervals 5] [--time-scale 10] [--keda-polling 30] [--hpa-sync 15] [--seed 7]

(about 2.5 minutes with the defaults; ``--intervals 5,4.5,1`` runs our operator at each
interval, ~5 s per burst at 5 s.) Starts a private ``redis-server`` on a free port and the
limiter service (as the operator reads budget headroom in a cluster), and serves kmock's
Kubernetes API emulator in this process (:mod:`bench.kube_harness`). Each burst is
``--burst-size`` ``run_task`` messages enqueued with the project's own Dramatiq broker
(:func:`~agentqueue.core.queues.broker.make_broker`: Dramatiq's Redis keys, exactly as
the gateway leaves them), on a queue at zero replicas. Timed: from just before the first
message is enqueued to the emulator's answer to the PATCH that raises the worker
Deployment's ``spec.replicas`` ("first patch"), and to the one that reaches the replicas
the burst calls for, ``ceil(burst / 5)`` ("full"). Between bursts the bench empties the
queue and sets the Deployment back to 0 replicas itself (not timed).

Two arms, one after the other, on the same Redis:

- **ours**: the real operator (:func:`~agentqueue.operator.runner.run_operator`, kopf and
  the reconciler, our interval through :class:`OperatorSettings`), against the emulator.
  Its timer is kopf's non-sharp timer: ``interval`` seconds from the end of one reconcile
  to the start of the next, so a cycle is the interval plus one reconcile. Bursts land at
  random phases of that cycle (stratified: one in each 1/N of it, in random order),
  measured from the start of the reconcile before (the GET of the Deployment that opens
  every reconcile).
- **KEDA-like**: KEDA's mechanics, reproduced with the same Redis and emulator. KEDA's
  scale loop polls its scaler every ``pollingInterval`` (default 30 s): the Redis lists
  scaler reads ``LLEN`` of the list; a target at 0 replicas with an active scaler
  (``LLEN`` > ``activationListLength``, 0) is scaled by KEDA itself to
  ``max(minReplicaCount, 1)`` = 1. The HPA controller syncs every 15 s
  (``--horizontal-pod-autoscaler-sync-period``), skips a target at 0 replicas, reads the
  external metric (KEDA's default ``useCachedMetrics: false``: the scaler is queried at
  that moment; with ``--cached-metrics``, the last poll's value), computes
  ``ceil(LLEN / listLength)`` (``AverageValue``, target 5) with the HPA's 10% tolerance
  and default scale-up policy (double or +4 pods per period, whichever is more), and
  patches. Both loops tick on a fixed period; their phases relative to the burst (and to
  each other) are drawn afresh for each burst, uniformly (each stratified like ours, the
  two paired at random), as they would be for bursts landing at random times on many
  ScaledObjects. Both patch ``spec.replicas`` with a merge
  patch (the real ones go through the ``/scale`` subresource; same field). With
  ``--time-scale K`` (default 10) both periods run K times shorter and every measured time
  is multiplied by K: the figures are in real seconds, but the few milliseconds of Redis
  and API latency are multiplied by K too (so slightly pessimistic). ``--time-scale 1``
  runs it in real time (about 25 s a burst).

Besides the measured rows, derived rows: the same quantities computed from the periods
alone (a burst at a uniformly random phase waits U(0, period) for the next tick; two
independent loops add up), and for ours from the measured cycle and reconcile time.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import logging
import math
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import redis.asyncio as aioredis
from dramatiq.brokers.redis import RedisBroker
from pydantic import SecretStr

from agentqueue.cli.processes import ProcessGroup, start_redis, wait_http
from agentqueue.core.base.ports import free_port
from agentqueue.core.base.priority import Priority
from agentqueue.core.queues.broker import MARKER_KEY, make_broker, task_message
from agentqueue.core.queues.depth import queue_keys
from agentqueue.operator.settings import OperatorSettings
from bench.kube_harness import (
    NS,
    ClockedEmulator,
    Hit,
    agent_queue,
    aq_path,
    create,
    deployment_replicas,
    deployments_path,
    emulated_cluster,
    running_operator,
    wait_for,
)

QUEUE = Priority.STANDARD.value
NAME = "standard"
DEPLOYMENT = f"{NAME}-worker"
#: Messages one replica should hold: our ``targetMessagesPerReplica``, KEDA's ``listLength``.
TARGET = 5
MAX_REPLICAS = 10
BUDGET = "anthropic:claude-sonnet-4-6:default"
#: A budget that never binds: the reaction time is the subject, not the budget cap.
LIMITER_BUDGETS = {"anthropic:claude-sonnet-4-6": {"rpm": 100_000, "tpm": 10_000_000}}
#: The objective the operator's interval is chosen for.
TARGET_P99_S = 5.0


@dataclass(frozen=True)
class BurstTiming:
    """One burst, in the run's seconds (a time-scaled arm reports them times its scale)."""

    #: Seconds from the burst to the first PATCH raising ``spec.replicas`` above 0.
    first: float
    #: Seconds from the burst to the PATCH reaching the replicas the burst calls for.
    full: float
    #: ``spec.replicas`` set by the first patch.
    first_replicas: int
    #: Seconds from the start of the previous reconcile (ours) or poll (KEDA-like).
    phase: float


@dataclass
class ArmResult:
    label: str
    #: Measured times are multiplied by this (a time-scaled run); 1 for real time.
    scale: float = 1.0
    bursts: list[BurstTiming] = field(default_factory=list)
    #: Ours: seconds between the starts of consecutive reconciles (measured).
    cycles: list[float] = field(default_factory=list)
    #: Ours: seconds from the start of a reconcile to its scale-up PATCH (measured).
    reconcile_s: list[float] = field(default_factory=list)
    #: The period(s) the arm ran with, in real seconds (before time-scaling).
    periods: dict[str, float] = field(default_factory=dict)

    def first(self) -> list[float]:
        return [b.first * self.scale for b in self.bursts]

    def full(self) -> list[float]:
        return [b.full * self.scale for b in self.bursts]


@dataclass
class Report:
    burst_size: int
    ours: list[ArmResult]
    keda: ArmResult | None
    keda_polling: float
    hpa_sync: float
    cached_metrics: bool


def pct(values: list[float], q: float) -> float:
    """The ``q`` quantile, linearly interpolated between order statistics (numpy's default)."""
    if not values:
        return math.nan
    xs = sorted(values)
    pos = q * (len(xs) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def uniform_sum_quantile(q: float, a: float, b: float) -> float:
    """The ``q`` quantile of U(0, a) + U(0, b), independent (a trapezoid distribution)."""
    a, b = max(a, b), min(a, b)
    if b == 0:
        return q * a
    if q <= b / (2 * a):
        return math.sqrt(2 * a * b * q)
    if q <= 1 - b / (2 * a):
        return q * a + b / 2
    return a + b - math.sqrt(2 * a * b * (1 - q))


def wanted_replicas(burst_size: int) -> int:
    return min(math.ceil(burst_size / TARGET), MAX_REPLICAS)


def stratified_phases(n: int, rng: random.Random) -> list[float]:
    """``n`` fractions of a cycle, one uniformly in each 1/n of it, in random order."""
    phases = [(k + rng.random()) / n for k in range(n)]
    rng.shuffle(phases)
    return phases


def _land(broker: RedisBroker, size: int, tag: str) -> float:
    """Enqueue the burst (in a thread: the broker is synchronous); when it began."""
    began = time.monotonic()
    for i in range(size):
        broker.enqueue(task_message(f"{tag}-{i}", Priority.STANDARD))
    return began


async def _empty_queue(redis: aioredis.Redis) -> None:
    await redis.delete(*queue_keys(QUEUE).values(), MARKER_KEY)


async def _get_replicas(api: httpx.AsyncClient) -> int:
    """The Deployment's ``spec.replicas`` through the API (as KEDA and the HPA read it)."""
    response = await api.get(deployments_path(DEPLOYMENT))
    response.raise_for_status()
    return int(response.json().get("spec", {}).get("replicas") or 0)


async def _set_replicas(api: httpx.AsyncClient, replicas: int) -> None:
    response = await api.patch(
        deployments_path(DEPLOYMENT),
        json={"spec": {"replicas": replicas}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    response.raise_for_status()


def _patches_since(k8s: ClockedEmulator, start: int, at_least: int) -> Hit | None:
    for hit in k8s.hits[start:]:
        if hit.method == "PATCH" and hit.name == DEPLOYMENT and (hit.replicas or 0) >= at_least:
            return hit
    return None


def _reconcile_starts(k8s: ClockedEmulator) -> list[float]:
    return [h.at for h in k8s.hits if h.method == "GET" and h.name == DEPLOYMENT]


def _cycles(starts: list[float], interval: float) -> list[float]:
    """Seconds between consecutive reconcile starts (a gap of a missed tick left out)."""
    return [b - a for a, b in itertools.pairwise(starts) if b - a < 1.5 * interval]


async def _timed_burst(
    k8s: ClockedEmulator, broker: RedisBroker, size: int, tag: str, timeout: float
) -> tuple[float, Hit, Hit]:
    """Land a burst; the time it began, its first scale-up patch and its full one."""
    mark = len(k8s.hits)
    began = await asyncio.to_thread(_land, broker, size, tag)
    want = wanted_replicas(size)
    first: Hit = await wait_for(
        k8s, lambda: _patches_since(k8s, mark, 1), timeout=timeout, what=f"{tag}: scale-up"
    )
    full: Hit = await wait_for(
        k8s, lambda: _patches_since(k8s, mark, want), timeout=timeout, what=f"{tag}: {want}"
    )
    return began, first, full


def operator_settings(redis_url: str, limiter_url: str | None, interval: float) -> OperatorSettings:
    return OperatorSettings(
        redis_url=SecretStr(redis_url),
        limiter_url=limiter_url,
        operator_namespace=NS,
        operator_interval=interval,
        operator_standalone=True,
        operator_health_port=0,
        # Generous: a slow answer on a loaded machine must not read as "unreachable".
        operator_limiter_timeout=5.0,
    )


def agent_queue_spec() -> dict[str, object]:
    return {
        "queue": QUEUE,
        "worker": {"image": "agentqueue-worker:bench", "concurrency": 4},
        "replicas": {"min": 0, "max": MAX_REPLICAS},
        "targetMessagesPerReplica": TARGET,
        "drainTimeSeconds": 600,
        "budgets": [BUDGET],
        "tokensPerMinutePerReplica": 1000,
        "scaleDown": {"stabilizationSeconds": 0},
        "scaleToZero": True,
    }


async def measure_ours(
    redis_url: str,
    limiter_url: str | None,
    *,
    interval: float,
    bursts: int,
    burst_size: int,
    rng: random.Random,
) -> ArmResult:
    """The real operator at ``interval``: ``bursts`` bursts at random phases of its cycle."""
    result = ArmResult(f"ours, interval {interval:g}s", periods={"interval": interval})
    timeout = 3 * interval + 15
    broker = make_broker(redis_url)
    redis = aioredis.Redis.from_url(redis_url)
    try:
        await _empty_queue(redis)
        # The client closes before the operator stops: kopf waits 5 s for any task
        # started while it ran (the emulator's keep-alive handler for it, too).
        async with (
            emulated_cluster() as k8s,
            running_operator(operator_settings(redis_url, limiter_url, interval)),
            httpx.AsyncClient(base_url=str(k8s.url)) as api,
        ):
            await create(k8s, aq_path(), agent_queue(NAME, **agent_queue_spec()))
            await wait_for(
                k8s,
                lambda: deployment_replicas(k8s, DEPLOYMENT) == 0,
                timeout=30,
                what="the operator creates the worker Deployment",
            )
            for i, fraction in enumerate(stratified_phases(bursts, rng)):
                starts = _reconcile_starts(k8s)
                gaps = _cycles(starts, interval)
                cycle = statistics.median(gaps) if gaps else interval
                target = starts[-1] + fraction * cycle
                while target < time.monotonic() + 0.002:
                    target += cycle
                await asyncio.sleep(target - time.monotonic())
                began, first, full = await _timed_burst(
                    k8s, broker, burst_size, f"ours{interval:g}-{i}", timeout
                )
                before = [t for t in _reconcile_starts(k8s) if t <= began]
                opened = [t for t in _reconcile_starts(k8s) if t <= first.at]
                result.bursts.append(
                    BurstTiming(
                        first=first.at - began,
                        full=full.at - began,
                        first_replicas=int(first.replicas or 0),
                        phase=began - before[-1] if before else math.nan,
                    )
                )
                result.reconcile_s.append(first.at - opened[-1])
                await _empty_queue(redis)
                await _set_replicas(api, 0)
            result.cycles = _cycles(_reconcile_starts(k8s), interval)
    finally:
        broker.close()
        await redis.aclose()
    return result


async def _keda_poller(
    redis: aioredis.Redis,
    api: httpx.AsyncClient,
    *,
    first_at: float,
    period: float,
    polls: list[float],
    cache: dict[str, int],
) -> None:
    """KEDA's scale loop for one ScaledObject: poll the scaler; activate from zero."""
    tick = first_at
    while True:
        await asyncio.sleep(max(0.0, tick - time.monotonic()))
        polls.append(time.monotonic())
        length = int(await redis.llen(queue_keys(QUEUE)["list"]))  # the Redis lists scaler
        cache["value"] = length
        active = length > 0  # activationListLength: 0
        if active and await _get_replicas(api) == 0:
            await _set_replicas(api, 1)  # max(minReplicaCount 0, 1)
        # (Not active: KEDA scales to zero after cooldownPeriod, 300 s; the bench resets.)
        tick += period


async def _hpa_loop(
    redis: aioredis.Redis,
    api: httpx.AsyncClient,
    *,
    first_at: float,
    period: float,
    cached: bool,
    cache: dict[str, int],
) -> None:
    """The HPA controller's sync of KEDA's HPA (external metric, AverageValue target)."""
    tick = first_at
    while True:
        await asyncio.sleep(max(0.0, tick - time.monotonic()))
        tick += period
        current = await _get_replicas(api)
        if current == 0:
            continue  # "scaling is disabled since the replica count of the target is zero"
        # The metric as KEDA's metrics server answers it: queried now, or the last poll's.
        value = (
            cache.get("value", 0) if cached else int(await redis.llen(queue_keys(QUEUE)["list"]))
        )
        ratio = value / (TARGET * current)
        desired = current if abs(ratio - 1.0) <= 0.1 else math.ceil(value / TARGET)
        desired = min(desired, max(2 * current, current + 4))  # default scaleUp policies
        desired = max(1, min(desired, MAX_REPLICAS))  # HPA minReplicas max(minReplicaCount, 1)
        if desired != current:
            await _set_replicas(api, desired)


async def measure_keda(
    redis_url: str,
    *,
    bursts: int,
    burst_size: int,
    polling: float,
    hpa_sync: float,
    time_scale: float,
    cached_metrics: bool,
    rng: random.Random,
) -> ArmResult:
    """KEDA's poll loop and the HPA's sync loop (periods divided by ``time_scale``)."""
    poll_s, sync_s = polling / time_scale, hpa_sync / time_scale
    result = ArmResult(
        f"KEDA-like, poll {polling:g}s + HPA {hpa_sync:g}s",
        scale=time_scale,
        periods={"polling": poll_s, "hpa_sync": sync_s},
    )
    timeout = 3 * (poll_s + sync_s) + 15
    broker = make_broker(redis_url)
    redis = aioredis.Redis.from_url(redis_url)
    try:
        await _empty_queue(redis)
        async with emulated_cluster() as k8s, httpx.AsyncClient(base_url=str(k8s.url)) as api:
            manifest = {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": DEPLOYMENT, "namespace": NS},
                "spec": {"replicas": 0},
            }
            await create(k8s, deployments_path(), manifest)
            # Each loop's phase stratified on its own, paired at random (a Latin square).
            phases = zip(
                stratified_phases(bursts, rng), stratified_phases(bursts, rng), strict=True
            )
            for i, (poll_phase, sync_phase) in enumerate(phases):
                polls: list[float] = []
                cache: dict[str, int] = {}
                now = time.monotonic()
                loops = [
                    asyncio.create_task(
                        _keda_poller(
                            redis, api, first_at=now + poll_phase * poll_s,
                            period=poll_s, polls=polls, cache=cache,
                        )
                    ),
                    asyncio.create_task(
                        _hpa_loop(
                            redis, api, first_at=now + sync_phase * sync_s,
                            period=sync_s, cached=cached_metrics, cache=cache,
                        )
                    ),
                ]  # fmt: skip
                try:
                    began, first, full = await _timed_burst(
                        k8s, broker, burst_size, f"keda-{i}", timeout
                    )
                finally:
                    for task in loops:
                        task.cancel()
                    await asyncio.gather(*loops, return_exceptions=True)
                before = [t for t in polls if t <= began]
                # Phase to the poll before: none ran since the loop started, so from
                # the one a period before the first (the loop's grid).
                first_poll = polls[0] if polls else math.nan
                last = before[-1] if before else first_poll - poll_s
                result.bursts.append(
                    BurstTiming(
                        first=first.at - began,
                        full=full.at - began,
                        first_replicas=int(first.replicas or 0),
                        phase=began - last,
                    )
                )
                await _empty_queue(redis)
                await _set_replicas(api, 0)
    finally:
        broker.close()
        await redis.aclose()
    return result


async def run_bench(
    redis_url: str,
    limiter_url: str | None,
    *,
    bursts: int = 20,
    burst_size: int = 20,
    intervals: tuple[float, ...] = (5.0,),
    time_scale: float = 10.0,
    keda_polling: float = 30.0,
    hpa_sync: float = 15.0,
    cached_metrics: bool = False,
    keda: bool = True,
    seed: int = 7,
    progress: bool = False,
) -> Report:
    """Both arms, one after the other: ours at each interval, then the KEDA-like one."""
    rng = random.Random(seed)
    ours = []
    for interval in intervals:
        if progress:
            print(f"ours at {interval:g}s: {bursts} bursts ...", flush=True)
        ours.append(
            await measure_ours(
                redis_url,
                limiter_url,
                interval=interval,
                bursts=bursts,
                burst_size=burst_size,
                rng=rng,
            )
        )
    keda_result = None
    if keda:
        if progress:
            print(f"KEDA-like at 1/{time_scale:g} time: {bursts} bursts ...", flush=True)
        keda_result = await measure_keda(
            redis_url,
            bursts=bursts,
            burst_size=burst_size,
            polling=keda_polling,
            hpa_sync=hpa_sync,
            time_scale=time_scale,
            cached_metrics=cached_metrics,
            rng=rng,
        )
    return Report(burst_size, ours, keda_result, keda_polling, hpa_sync, cached_metrics)


@contextmanager
def services() -> Iterator[tuple[str, str]]:
    """A private redis-server (free port) and the limiter service on it: their URLs."""
    group = ProcessGroup(log_dir=Path(tempfile.mkdtemp(prefix="aq-bench-reaction-")))
    try:
        redis_url = start_redis(group)
        port = free_port()
        group.start_service(
            "limiter",
            "agentqueue.limiter",
            {
                "AGENTQUEUE_REDIS_URL": redis_url,
                "AGENTQUEUE_PORT": str(port),
                "AGENTQUEUE_BUDGETS": json.dumps(LIMITER_BUDGETS),
                "AGENTQUEUE_LOG_LEVEL": "WARNING",
            },
        )
        limiter_url = f"http://127.0.0.1:{port}"
        wait_http(f"{limiter_url}/readyz", group)
        yield redis_url, limiter_url
    finally:
        group.stop()


def _row(label: str, how: str, n: str, first: list[float], full: list[float]) -> str:
    def three(xs: list[float]) -> str:
        return f"{pct(xs, 0.5):6.2f} {pct(xs, 0.99):6.2f} {max(xs):6.2f}"

    return f"{label:<34} {how:<22} {n:>3}  {three(first)}   {three(full)}"


def _derived(label: str, first: tuple[float, ...], full: tuple[float, ...]) -> str:
    def three(xs: tuple[float, ...]) -> str:
        return " ".join(f"{x:6.2f}" for x in xs)

    return f"{label:<34} {'derived':<22} {'-':>3}  {three(first)}   {three(full)}"


def format_report(report: Report) -> str:
    want = wanted_replicas(report.burst_size)
    lines = [
        f"burst of {report.burst_size} messages on an idle queue (0 replicas) -> time until "
        f"the worker Deployment's spec.replicas is patched up (s)",
        f"{'':<34} {'':<22} {'':>3}  {'first patch (any >0)':<20}   "
        f"{f'full ({want} replicas)':<20}",
        f"{'arm':<34} {'how':<22} {'n':>3}  {'p50':>6} {'p99':>6} {'max':>6}   "
        f"{'p50':>6} {'p99':>6} {'max':>6}",
    ]
    notes = []
    for arm in report.ours:
        lines.append(_row(arm.label, "measured, real time", str(len(arm.bursts)),
                          arm.first(), arm.full()))  # fmt: skip
        cycle = statistics.median(arm.cycles) if arm.cycles else arm.periods["interval"]
        work = statistics.median(arm.reconcile_s) if arm.reconcile_s else 0.0
        lines.append(
            _derived(
                f"ours, interval {arm.periods['interval']:g}s",
                tuple(q * cycle + work for q in (0.5, 0.99, 1.0)),
                tuple(q * cycle + work for q in (0.5, 0.99, 1.0)),
            )
        )
        notes.append(
            f"ours at {arm.periods['interval']:g}s: reconcile cycle (start to start) median "
            f"{cycle:.3f}s, max {max(arm.cycles, default=math.nan):.3f}s; reconcile start to "
            f"scale-up PATCH median {work * 1000:.0f} ms; first patch set "
            f"{sorted({b.first_replicas for b in arm.bursts})} replica(s); burst phases "
            f"{min(b.phase for b in arm.bursts):.2f}..{max(b.phase for b in arm.bursts):.2f}s "
            f"after a reconcile start"
        )
    keda = report.keda
    poll, sync = report.keda_polling, report.hpa_sync
    if keda is not None:
        how = (
            "measured, real time"
            if keda.scale == 1
            else f"measured 1/{keda.scale:g} x{keda.scale:g}"
        )
        lines.append(_row(keda.label, how, str(len(keda.bursts)), keda.first(), keda.full()))
    lines.append(
        _derived(
            f"KEDA-like, poll {poll:g}s + HPA {sync:g}s",
            tuple(q * poll for q in (0.5, 0.99, 1.0)),
            tuple(uniform_sum_quantile(q, poll, sync) for q in (0.5, 0.99, 1.0)),
        )
    )
    if keda is not None:
        metric = "the last poll's LLEN" if report.cached_metrics else "LLEN read at the sync"
        notes.append(
            f"KEDA-like: KEDA activates 0 -> 1 at its poll, the HPA scales 1 -> {want} at its "
            f"next sync ({metric}); "
            + (
                "run in real time"
                if keda.scale == 1
                else f"periods run {keda.scale:g}x shorter ({poll / keda.scale:g}s, "
                f"{sync / keda.scale:g}s), times multiplied by {keda.scale:g}"
            )
        )
    notes.append(
        "derived: a burst at a uniformly random phase waits U(0, period) for the next tick: "
        "p50 = period/2, p99 = 0.99 period, max = period; two independent loops add "
        "(U(0, poll) + U(0, sync)). Ours: the measured cycle times that, plus the measured "
        "reconcile-start-to-PATCH time."
    )
    for arm in report.ours:
        p99 = pct(arm.first(), 0.99)
        verdict = "met" if p99 <= TARGET_P99_S else "MISSED"
        cycle = statistics.median(arm.cycles) if arm.cycles else arm.periods["interval"]
        work = statistics.median(arm.reconcile_s) if arm.reconcile_s else 0.0
        overhead = cycle - arm.periods["interval"]
        needed = (TARGET_P99_S - work) / 0.99 - overhead
        notes.append(
            f"target p99 <= {TARGET_P99_S:g}s at interval {arm.periods['interval']:g}s: "
            f"{verdict} (measured p99 {p99:.2f}s); derived: p99 <= {TARGET_P99_S:g}s needs "
            f"an interval <= {needed:.2f}s (cycle = interval + {overhead * 1000:.0f} ms); "
            f"a reconcile woken by the burst itself would leave ~{work * 1000:.0f} ms"
        )
    return "\n".join(lines + [""] + [f"- {n}" for n in notes])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bursts", type=int, default=20, help="bursts per arm")
    parser.add_argument("--burst-size", type=int, default=20, help="messages per burst")
    parser.add_argument(
        "--intervals",
        default="5",
        help="our reconcile intervals to run, comma-separated ('' for the KEDA-like arm only)",
    )
    parser.add_argument(
        "--time-scale", type=float, default=10.0, help="KEDA-like arm runs this many times faster"
    )
    parser.add_argument("--keda-polling", type=float, default=30.0, help="KEDA pollingInterval")
    parser.add_argument("--hpa-sync", type=float, default=15.0, help="HPA sync period")
    parser.add_argument(
        "--cached-metrics",
        action="store_true",
        help="the HPA reads the last poll's value (KEDA's useCachedMetrics: true)",
    )
    parser.add_argument("--no-keda", action="store_true", help="run ours only")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("kopf").setLevel(logging.ERROR)
    intervals = tuple(float(x) for x in args.intervals.split(",") if x.strip())
    started = time.perf_counter()
    with services() as (redis_url, limiter_url):
        report = asyncio.run(
            run_bench(
                redis_url,
                limiter_url,
                bursts=args.bursts,
                burst_size=args.burst_size,
                intervals=intervals,
                time_scale=args.time_scale,
                keda_polling=args.keda_polling,
                hpa_sync=args.hpa_sync,
                cached_metrics=args.cached_metrics,
                keda=not args.no_keda,
                seed=args.seed,
                progress=True,
            )
        )
    print()
    print(format_report(report))
    print(f"\n({time.perf_counter() - started:.0f}s wall)")


if __name__ == "__main__":
    main()

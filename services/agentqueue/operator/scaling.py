"""The scaling law: how many workers a queue should run, and why.

A pure function, so the operator, the benchmark and the property tests run the very same
arithmetic. KEDA scales a queue on its length alone, ``ceil(depth / target)``; that is
right for a CPU-bound consumer, wrong for LLM workers, whose real limit is usually the
provider's token budget. Adding workers to an exhausted budget only adds 429s. So:

    depth        = ready + in_flight                      (delayed messages are not due yet)
    by_target    = ceil(depth / target_per_replica)
    by_drain     = ceil(depth / (throughput_per_replica * drain_seconds))
                   (only when the per-replica throughput, messages/s, is known)
    demand       = max(by_target, by_drain)
    budget_cap   = floor(budget_tpm / tpm_per_replica)
                   (none when either is unknown; held_cap when the budget is unreadable)
    desired      = clamp(min(demand, budget_cap), floor, max_replicas)
    floor        = max(min_replicas,
                       1 if anything waits (ready, in flight or delayed),
                       1 if scale-to-zero is off)

Decisions:

- The floor of one while anything waits has no exception: a queue at zero replicas never
  runs its delayed messages and retries (Dramatiq's workers move them when due), and a
  budget too small for even one worker's rate still lets one worker make progress (the
  limiter paces it). ``min_replicas`` wins over the budget cap too: it is an explicit
  order from whoever wrote the AgentQueue.
- Delayed messages force the floor but add no demand: a retry waiting out a 60 s backoff
  needs no worker until then, and counting it would scale up for nothing.
- ``max_replicas`` is the last word (it is at least 1, and at least ``min_replicas``).

So the result is never above ``max_replicas``, never above the budget cap unless the
floor is, never below the floor, and zero only when scale-to-zero is on, ``min_replicas``
is 0 and nothing waits. It is monotone in depth. Stabilization over time (scale up at
once, scale down only after a window) is :mod:`.stabilization`'s job, not this one's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class ScalingInput:
    ready: int
    in_flight: int
    delayed: int
    #: Messages (ready + in flight) one replica should hold: KEDA's target.
    target_per_replica: int
    #: Seconds in which the backlog should drain (the queue's objective).
    drain_seconds: float
    min_replicas: int
    max_replicas: int
    current_replicas: int
    scale_to_zero: bool = True
    #: Messages per second one busy replica finishes; None when not known yet.
    throughput_per_replica: float | None = None
    #: Tokens per minute this queue may use from its budgets; None when unknown.
    budget_tpm: float | None = None
    #: Tokens per minute one busy replica consumes; None (or 0) when unknown.
    tpm_per_replica: float | None = None
    #: The budget cannot be read (limiter unreachable): hold the cap here instead
    #: (the replicas running), rather than scale into a budget nobody can see.
    held_cap: int | None = None

    def __post_init__(self) -> None:
        if min(self.ready, self.in_flight, self.delayed, self.current_replicas) < 0:
            raise ValueError("depths and replicas cannot be negative")
        if self.target_per_replica < 1 or self.drain_seconds <= 0:
            raise ValueError("target_per_replica must be >= 1 and drain_seconds > 0")
        if not 0 <= self.min_replicas <= self.max_replicas or self.max_replicas < 1:
            raise ValueError("need 0 <= min_replicas <= max_replicas and max_replicas >= 1")

    @property
    def depth(self) -> int:
        return self.ready + self.in_flight


@dataclass(frozen=True)
class Recommendation:
    replicas: int
    #: One line a human reads in the status and the scaling Event.
    reason: str
    #: Replicas the depth alone asks for.
    demand: int
    #: Replicas the budget can feed; None when unknown.
    budget_cap: int | None
    #: True when the budget cap, not the demand, decided (fewer replicas than demanded).
    budget_limited: bool


def budget_cap(budget_tpm: float | None, tpm_per_replica: float | None) -> int | None:
    """Replicas the budget can feed at one replica's rate; None when either is unknown."""
    if budget_tpm is None or not tpm_per_replica or tpm_per_replica <= 0:
        return None
    return max(0, math.floor(budget_tpm / tpm_per_replica))


def desired_replicas(s: ScalingInput) -> Recommendation:
    """The number of replicas the queue should run now, and the reason in words."""
    depth = s.depth
    demand = math.ceil(depth / s.target_per_replica)
    why = [f"depth {depth} / target {s.target_per_replica} -> {demand}"]
    if s.throughput_per_replica and s.throughput_per_replica > 0:
        per_replica = s.throughput_per_replica * s.drain_seconds
        by_drain = math.ceil(depth / per_replica)
        why.append(
            f"drain {depth} in {s.drain_seconds:g}s at "
            f"{s.throughput_per_replica:.3g}/s per replica -> {by_drain}"
        )
        demand = max(demand, by_drain)

    if s.held_cap is not None:
        cap: int | None = max(0, s.held_cap)
        why.append(f"budget unreadable: cap held at {cap}")
    else:
        cap = budget_cap(s.budget_tpm, s.tpm_per_replica)
        if cap is not None:
            why.append(
                f"budget {s.budget_tpm:.0f} tpm / {s.tpm_per_replica:.0f} per replica -> {cap}"
            )
    wanted = demand if cap is None else min(demand, cap)

    floor = s.min_replicas
    if s.depth > 0 or s.delayed > 0:
        floor = max(floor, 1)
    if not s.scale_to_zero:
        floor = max(floor, 1)
    replicas = min(max(wanted, floor), s.max_replicas)

    limited = cap is not None and cap < demand and replicas < min(demand, s.max_replicas)
    if replicas == s.max_replicas and wanted > s.max_replicas:
        verdict = f"at max {s.max_replicas}"
    elif wanted < floor:
        verdict = _floor_reason(s, floor)
    elif limited:
        verdict = f"capped by budget at {replicas} (demand {demand})"
    else:
        verdict = f"demand {demand}"
    return Recommendation(
        replicas=replicas,
        reason=f"{verdict}: " + "; ".join(why),
        demand=demand,
        budget_cap=cap,
        budget_limited=limited,
    )


def _floor_reason(s: ScalingInput, floor: int) -> str:
    if floor == s.min_replicas and s.min_replicas > 0:
        return f"held at min {s.min_replicas}"
    if s.depth == 0 and s.delayed > 0:
        return f"kept at {floor}: {s.delayed} delayed message(s) or retries wait"
    if s.depth > 0:
        return f"kept at {floor}: messages wait"
    return f"kept at {floor}: scale-to-zero is off"

"""Our scaling law against a depth-only law (KEDA's), over a simulated bursty day.

    .venv/bin/python -m bench.autoscale [--hours 24] [--budget-tpm 2000000] [--seed 7]

A discrete-time simulation (:mod:`bench.autoscale_sim`, one step per second; a day runs
in seconds): three queues with diurnal arrivals and bursts, one shared provider budget
that binds, per-replica throughput, provider 429s whenever the fleet asks for more than
the budget holds. Both arms use the operator's own pure functions. Prints, per law:
replica-minutes, provider 429s, tasks failed after their retries, and per queue the time
from arrival to completion (p50, p99, max). docs/operator.md keeps the figures.

How soon a burst is answered with replicas (the real operator against a Kubernetes API
emulator, and KEDA's poll and HPA loops) is measured by ``python -m bench.autoscale_reaction``.
"""

from __future__ import annotations

import argparse
import time

from bench.autoscale_sim import LAWS, QueueResult, default_world, simulate


def _fmt_s(seconds: float) -> str:
    if seconds != seconds:  # NaN: nothing arrived
        return "-"
    if seconds == float("inf"):
        return "lost"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f}h"
    if seconds >= 60:
        return f"{seconds / 60:.1f}m"
    return f"{seconds:.0f}s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hours", type=float, default=24)
    parser.add_argument("--budget-tpm", type=float, default=2_000_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    world = default_world(seconds=int(args.hours * 3600), seed=args.seed)
    world = type(world)(**{**world.__dict__, "budget_tpm": args.budget_tpm})

    results: dict[str, dict[str, QueueResult]] = {}
    started = time.perf_counter()
    for law in LAWS:
        results[law] = {p.value: r for p, r in simulate(world, law).items()}
    took = time.perf_counter() - started

    print(
        f"{args.hours:g} h simulated, budget {args.budget_tpm:,.0f} tokens/min shared by "
        f"{len(world.queues)} queues, reconcile every {world.interval}s, "
        f"{world.stabilization_s}s scale-down window ({took:.1f}s wall)\n"
    )
    print(
        f"{'law':<12} {'replica-min':>11} {'429s':>8} {'failed':>7} {'done':>7} "
        f"{'of':>7} {'rep-min/1k done':>16}"
    )
    for law in LAWS:
        rs = list(results[law].values())
        minutes = sum(r.replica_minutes for r in rs)
        done = sum(r.done for r in rs)
        print(
            f"{law:<12} {minutes:>11,.0f} {sum(r.rejected_429 for r in rs):>8,} "
            f"{sum(r.failed for r in rs):>7,} {done:>7,} {sum(r.arrived for r in rs):>7,} "
            f"{minutes / max(done, 1) * 1000:>16,.0f}"
        )
    print(
        f"\n{'queue':<9} {'law':<12} {'replica-min':>11} {'429s':>8} {'failed':>7} "
        f"{'p50':>7} {'p99':>7} {'max':>7}   (arrival to completion; lost: failed)"
    )
    for queue in results[LAWS[0]]:
        for law in LAWS:
            r = results[law][queue]
            print(
                f"{queue:<9} {law:<12} {r.replica_minutes:>11,.0f} {r.rejected_429:>8,} "
                f"{r.failed:>7,} {_fmt_s(r.sojourn_p50):>7} {_fmt_s(r.sojourn_p99):>7} "
                f"{_fmt_s(r.sojourn_max):>7}"
            )
    print("\nreaction time to a burst, ours against KEDA's: python -m bench.autoscale_reaction")


if __name__ == "__main__":
    main()

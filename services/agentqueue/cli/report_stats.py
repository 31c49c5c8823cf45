"""The shape of a cost distribution, and a daily cost band drawn from it.

Why: the design document's "without understanding the distribution, capacity planning is
guesswork". A mean hides a long tail (an agent that loops costs fifty times its median),
so ``agentqueue report`` shows the percentiles, the maximum and a histogram of cost per
task and per session, and projects a day of N sessions as a band rather than one number.

The band: the expected day is N x the mean session cost. Two things move a real day away
from it — the mean itself is measured from n sessions only, and a day is a sum of N draws
that varies from day to day. Each bootstrap resample draws n sessions with replacement
from those measured (the uncertainty of the mean and of the spread), then a day of N
sessions around that resample: N x its mean, plus the sum's day-to-day spread, sqrt(N) x its
standard deviation x a normal draw (the central limit theorem, fine for N in the
hundreds or more). The band is the percentiles of those days. Seeded: the same records
give the same report.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

#: Bars in a histogram.
DEFAULT_BINS = 12
#: Above this ratio of the largest to the smallest positive cost, bins are logarithmic.
LOG_BINS_RATIO = 20.0
#: Bootstrap resamples (fewer for large samples, see :func:`resamples_for`).
MAX_RESAMPLES = 1000
MIN_RESAMPLES = 200
#: Draws the bootstrap may make in all (resamples x sample size): about a second.
DRAW_BUDGET = 2_000_000


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of ``values``; 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Bin:
    """Costs in ``[lo, hi)`` (the last bin includes ``hi``); ``lo == hi == 0``: free."""

    lo: float
    hi: float
    count: int


@dataclass(frozen=True)
class Distribution:
    count: int
    total: float
    mean: float
    p50: float
    p90: float
    p99: float
    max: float
    #: Whether the bins' edges grow geometrically (a tail spanning orders of magnitude).
    log_bins: bool = False
    bins: list[Bin] = field(default_factory=list)


def edges(lo: float, hi: float, bins: int, log: bool) -> list[float]:
    if hi <= lo:
        return [lo, hi]
    if log:
        ratio = (hi / lo) ** (1 / bins)
        out = [lo * ratio**i for i in range(bins)]
    else:
        step = (hi - lo) / bins
        out = [lo + step * i for i in range(bins)]
    return [*out, hi]


def histogram(values: Sequence[float], bins: int = DEFAULT_BINS) -> tuple[list[Bin], bool]:
    """Counts of ``values`` per bin, and whether the bins are logarithmic. Zero costs (a
    cache answered every call) get a bin of their own: a log scale has no zero."""
    out: list[Bin] = []
    zeros = sum(1 for v in values if v <= 0)
    if zeros:
        out.append(Bin(0.0, 0.0, zeros))
    positive = sorted(v for v in values if v > 0)
    if not positive:
        return out, False
    lo, hi = positive[0], positive[-1]
    log = hi / lo >= LOG_BINS_RATIO
    bounds = edges(lo, hi, bins, log)
    counts = [0] * (len(bounds) - 1)
    for v in positive:
        i = next((j for j in range(len(counts)) if v < bounds[j + 1]), len(counts) - 1)
        counts[i] += 1
    out += [Bin(bounds[i], bounds[i + 1], c) for i, c in enumerate(counts)]
    return out, log


def distribution(values: Sequence[float], bins: int = DEFAULT_BINS) -> Distribution:
    if not values:
        return Distribution(0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    counted, log = histogram(values, bins)
    total = sum(values)
    return Distribution(
        count=len(values),
        total=total,
        mean=total / len(values),
        p50=percentile(values, 50),
        p90=percentile(values, 90),
        p99=percentile(values, 99),
        max=max(values),
        log_bins=log,
        bins=counted,
    )


@dataclass(frozen=True)
class DailyBand:
    """What N sessions a day cost: the expected day and the band around it (USD)."""

    sessions_per_day: int
    expected: float
    p50: float
    p90: float
    p99: float
    resamples: int


def resamples_for(n: int) -> int:
    return max(MIN_RESAMPLES, min(MAX_RESAMPLES, DRAW_BUDGET // max(n, 1)))


def daily_band(costs: Sequence[float], sessions_per_day: int, *, seed: int = 0) -> DailyBand:
    """N x mean, and the p50/p90/p99 day by bootstrap (see the module docstring)."""
    n = len(costs)
    if n == 0:
        return DailyBand(sessions_per_day, 0.0, 0.0, 0.0, 0.0, 0)
    expected = sessions_per_day * sum(costs) / n
    if n < 2 or sessions_per_day <= 0:
        return DailyBand(sessions_per_day, expected, expected, expected, expected, 0)
    rng = random.Random(seed)
    b = resamples_for(n)
    root = math.sqrt(sessions_per_day)
    days = []
    for _ in range(b):
        sample = rng.choices(costs, k=n)
        mean = sum(sample) / n
        spread = statistics.pstdev(sample, mean)
        days.append(max(0.0, sessions_per_day * mean + root * spread * rng.gauss()))
    return DailyBand(
        sessions_per_day=sessions_per_day,
        expected=expected,
        p50=percentile(days, 50),
        p90=percentile(days, 90),
        p99=percentile(days, 99),
        resamples=b,
    )


__all__ = [
    "Bin",
    "DailyBand",
    "Distribution",
    "daily_band",
    "distribution",
    "histogram",
    "percentile",
]

"""Learn what one busy worker consumes per minute, from the fleet's per-minute counters.

Workers add the tokens of every provider call and one per finished message to their
queue's per-minute counters (:mod:`agentqueue.core.queues.usage`). After a minute closes
the operator divides its totals by the replicas that ran in it (the mean of its samples)
and folds the result into an exponentially weighted mean (``alpha`` per minute).

Only *busy* minutes teach anything: a minute in which every sample saw messages ready
and unfetched. Ready messages in the list mean every worker's prefetch buffer is full,
so every thread was busy; the per-replica rate of such a minute is what a replica can
do, which is what the budget cap needs. A quiet minute's rate is only what happened to
arrive; learning from it would shrink the estimate, inflate the budget cap, and let the
next burst scale past the budget. A minute in which the replica count changed is fine:
the mean replicas is the right divisor for a sum over the minute.

Until a busy minute has been seen, the seed (``spec.tokensPerMinutePerReplica``) is used.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agentqueue.core.queues.usage import BucketUsage


@dataclass
class _Bucket:
    samples: int = 0
    replica_sum: float = 0.0
    busy: bool = True


@dataclass(frozen=True)
class Rates:
    #: Tokens per minute one busy replica consumes; None when unknown.
    tpm_per_replica: float | None
    #: Messages per second one busy replica finishes; None when unknown.
    messages_per_second: float | None
    #: Busy minutes learned from (0: the seed only).
    minutes: int


@dataclass
class ReplicaRateLearner:
    bucket_seconds: int = 60
    #: Weight of the newest busy minute in the moving mean.
    alpha: float = 0.3
    #: Fewest samples a bucket needs to count (a bucket seen once says little).
    min_samples: int = 2
    _buckets: dict[int, _Bucket] = field(default_factory=dict)
    _tpm: float | None = None
    _mps: float | None = None
    _minutes: int = 0

    def observe(self, bucket: int, replicas: int, busy: bool) -> None:
        """One reconcile's sample: the replicas running and whether all were busy."""
        b = self._buckets.setdefault(bucket, _Bucket())
        b.samples += 1
        b.replica_sum += replicas
        b.busy = b.busy and busy and replicas > 0

    def closed(self, current_bucket: int) -> list[int]:
        """Buckets sampled before ``current_bucket``: ready to learn from."""
        return sorted(b for b in self._buckets if b < current_bucket)

    def learn(self, usage: BucketUsage) -> bool:
        """Fold a closed bucket's fleet totals in; True if it taught anything."""
        b = self._buckets.pop(usage.bucket, None)
        if b is None or not b.busy or b.samples < self.min_samples or usage.tokens <= 0:
            return False
        replicas = b.replica_sum / b.samples
        per_minute = 60.0 / self.bucket_seconds
        tpm = usage.tokens / replicas * per_minute
        mps = usage.messages / replicas / self.bucket_seconds
        self._tpm = tpm if self._tpm is None else self.alpha * tpm + (1 - self.alpha) * self._tpm
        if usage.messages > 0:
            self._mps = (
                mps if self._mps is None else self.alpha * mps + (1 - self.alpha) * self._mps
            )
        self._minutes += 1
        return True

    def rates(self, seed_tpm: float | None = None) -> Rates:
        """What is known now; the seed stands in for tokens/min until a minute is learned."""
        tpm = self._tpm if self._tpm is not None else (seed_tpm or None)
        return Rates(tpm, self._mps, self._minutes)

    def restore(self, tpm: float | None, mps: float | None, minutes: int) -> None:
        """Resume from a previous operator's status (learned values only)."""
        if minutes > 0 and self._minutes == 0:
            self._tpm = tpm or None
            self._mps = mps or None
            self._minutes = minutes

"""Per-replica rates are learned from busy minutes only, and smoothed."""

from __future__ import annotations

import pytest

from agentqueue.core.queues.usage import BucketUsage
from agentqueue.operator.learning import ReplicaRateLearner


def busy_minute(learner: ReplicaRateLearner, bucket: int, replicas: list[int]) -> None:
    for r in replicas:
        learner.observe(bucket, r, busy=True)


def test_the_seed_until_a_busy_minute_is_seen() -> None:
    learner = ReplicaRateLearner()
    assert learner.rates(seed_tpm=5000).tpm_per_replica == 5000
    assert learner.rates(seed_tpm=0).tpm_per_replica is None


def test_a_busy_minute_divides_by_the_mean_replicas() -> None:
    learner = ReplicaRateLearner()
    busy_minute(learner, 7, [2, 2, 4, 4])  # mean 3 replicas
    assert learner.closed(8) == [7] and learner.closed(7) == []
    assert learner.learn(BucketUsage(7, tokens=30_000, messages=36))
    rates = learner.rates(seed_tpm=999)
    assert rates.tpm_per_replica == pytest.approx(10_000)
    assert rates.messages_per_second == pytest.approx(36 / 3 / 60)
    assert rates.minutes == 1


def test_quiet_minutes_teach_nothing() -> None:
    learner = ReplicaRateLearner()
    learner.observe(1, 3, busy=True)
    learner.observe(1, 3, busy=False)  # the queue emptied during the minute
    assert not learner.learn(BucketUsage(1, tokens=900, messages=3))
    busy_minute(learner, 2, [3])  # one sample is too few
    assert not learner.learn(BucketUsage(2, tokens=900, messages=3))
    assert learner.rates().tpm_per_replica is None


def test_smoothing_follows_a_change_gradually() -> None:
    learner = ReplicaRateLearner(alpha=0.5)
    busy_minute(learner, 1, [1, 1])
    learner.learn(BucketUsage(1, tokens=1000, messages=0))
    busy_minute(learner, 2, [1, 1])
    learner.learn(BucketUsage(2, tokens=3000, messages=0))
    assert learner.rates().tpm_per_replica == pytest.approx(2000)


def test_short_buckets_scale_to_a_minute() -> None:
    learner = ReplicaRateLearner(bucket_seconds=2)
    busy_minute(learner, 5, [2, 2])
    learner.learn(BucketUsage(5, tokens=200, messages=4))
    rates = learner.rates()
    assert rates.tpm_per_replica == pytest.approx(200 / 2 * 30)
    assert rates.messages_per_second == pytest.approx(4 / 2 / 2)


def test_restore_from_status() -> None:
    learner = ReplicaRateLearner()
    learner.restore(4000, 0.5, 12)
    assert learner.rates(seed_tpm=1).tpm_per_replica == 4000
    fresh = ReplicaRateLearner()
    fresh.restore(4000, 0.5, 0)  # only a seed was in use: nothing learned to restore
    assert fresh.rates().tpm_per_replica is None

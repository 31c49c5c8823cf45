import math

import pytest

from agentqueue.simulator.buckets import KeyBuckets, TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_bucket_starts_full_and_refills_continuously() -> None:
    clock = Clock()
    bucket = TokenBucket(60, minute_seconds=60, clock=clock)
    bucket.take(60)
    assert bucket.level() == 0
    clock.now += 0.5
    assert bucket.level() == pytest.approx(0.5)  # no window edge: half a token after 0.5 s
    clock.now += 1000
    assert bucket.level() == 60  # never above capacity


def test_wait_is_the_time_to_refill_the_shortfall() -> None:
    clock = Clock()
    bucket = TokenBucket(120, minute_seconds=60, clock=clock)  # 2 per second
    bucket.take(120)
    assert bucket.wait_for(10) == pytest.approx(5.0)
    assert bucket.wait_for(121) == math.inf


def test_key_buckets_refuse_beyond_either_limit_without_charging() -> None:
    clock = Clock()
    key = KeyBuckets(rpm=2, tpm=100, minute_seconds=60, clock=clock)
    assert key.admit(40) == 0 and key.admit(40) == 0
    wait = key.admit(10)
    assert wait == pytest.approx(30.0)  # the 3rd request waits for half a minute
    assert key.tokens.level() == pytest.approx(20)  # the refusal charged nothing
    clock.now += 30
    assert key.admit(10) == 0

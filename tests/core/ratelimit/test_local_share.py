import pytest

from agentqueue.core.base.errors import BudgetExhausted
from agentqueue.core.ratelimit.budget import BudgetLimits
from agentqueue.core.ratelimit.local_share import LocalShare


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_share_is_limit_over_replicas_and_starts_empty() -> None:
    clock = Clock()
    share = LocalShare("b", BudgetLimits(rpm=600, tpm=60_000, margin=0), replicas=4, clock=clock)
    assert share.cap_t == 15_000 and share.rate_t == pytest.approx(250)  # tokens per second
    assert share.wait_for(1000) == pytest.approx(4.0)  # empty at first: nothing is assumed
    clock.now = 60
    await share.acquire(15_000, max_wait=0)  # a full minute refilled: the whole share
    with pytest.raises(BudgetExhausted) as info:
        await share.acquire(500, max_wait=1.0)
    assert info.value.retry_after == pytest.approx(2.0)


async def test_settle_returns_what_the_call_did_not_use() -> None:
    clock = Clock()
    share = LocalShare("b", BudgetLimits(rpm=600, tpm=60_000, margin=0), replicas=1, clock=clock)
    clock.now = 60
    await share.acquire(50_000, max_wait=0)
    share.settle(reserved=50_000, actual=10_000)
    assert share.wait_for(50_000) == 0

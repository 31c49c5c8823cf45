"""A queue plans on its budgets less its reserve and what the queues above it use."""

from __future__ import annotations

import pytest

from agentqueue.core.base.priority import Priority
from agentqueue.operator.budget_share import queue_share_tpm


def test_high_takes_all_but_the_interactive_reserve_and_ignores_those_below() -> None:
    share = queue_share_tpm(100_000, Priority.HIGH, {Priority.BATCH: 50_000})
    assert share == pytest.approx(100_000 * 0.95)


def test_standard_leaves_its_reserve_and_what_high_uses() -> None:
    share = queue_share_tpm(
        100_000, Priority.STANDARD, {Priority.HIGH: 30_000, Priority.BATCH: 40_000}
    )
    assert share == pytest.approx(100_000 * 0.9 - 30_000)


def test_batch_is_what_is_left_and_never_negative() -> None:
    used = {Priority.HIGH: 40_000, Priority.STANDARD: 40_000}
    assert queue_share_tpm(100_000, Priority.BATCH, used) == pytest.approx(0)
    assert queue_share_tpm(200_000, Priority.BATCH, used) == pytest.approx(200_000 * 0.7 - 80_000)

"""How many tokens per minute one queue may plan on, when queues share budgets.

The ``high``, ``standard`` and ``batch`` queues usually draw on the same provider
budgets. Giving each queue's autoscaler the whole budget would let the three fleets
together plan on three times what the provider allows. The limiter already decides who
goes first: each priority must leave a reserve to those above it (``standard`` leaves
10% for ``high``, ``batch`` 30%), and waiters are served highest priority first. The
share mirrors that: a queue may plan on its budgets' sustainable rate, less its
priority's reserve, less what the queues *above* it used in the last closed minute.
Queues below it are ignored: the limiter will starve them first.

    share(q) = sum_b sustainable_tpm(b) * (1 - reserve(priority(q)))
               - sum_{queues p above q sharing a budget} used_tpm(p)

Summed over the queue's budgets because the fallback chain spills to the next budget
when one is exhausted; floored at zero.
"""

from __future__ import annotations

from collections.abc import Mapping

from agentqueue.core.base.priority import Priority
from agentqueue.core.ratelimit.budget import default_reserves

#: Higher number = served first.
RANK = {Priority.BATCH: 0, Priority.STANDARD: 1, Priority.HIGH: 2}


def queue_share_tpm(
    sustainable_tpm: float,
    priority: Priority,
    higher_usage_tpm: Mapping[Priority, float],
    reserves: Mapping[Priority, float] | None = None,
) -> float:
    """Tokens/min ``priority`` may plan on; ``higher_usage_tpm`` is what others used.

    Entries of ``higher_usage_tpm`` that are not above ``priority`` are ignored, so the
    caller can pass every other queue's usage.
    """
    reserve = (reserves or default_reserves()).get(priority, 0.0)
    above = sum(used for other, used in higher_usage_tpm.items() if RANK[other] > RANK[priority])
    return max(0.0, sustainable_tpm * (1 - reserve) - above)

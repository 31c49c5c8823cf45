"""Queue depth and the age of the oldest waiting message, read from Redis per scrape.

Why at scrape time, in the gateway: depth is a fact of Redis, not of any one process
(a counter kept by enqueuers and consumers would drift with every crash), and one
process reading it keeps series from being duplicated across replicas. It is cheap:
one pipelined round trip per scrape (LLEN and HLEN of each priority's keys, the oldest
ready message's id) and one more for those messages (HGET), whatever the queue sizes.

``depth`` counts messages ready and not yet fetched by a worker (the backlog);
``in_flight`` those fetched and not acked (prefetched or running); ``delayed`` retries
and delayed messages waiting for their time; ``dead_letters`` failed for good. The
oldest message's age runs from when it became ready (queued, or its retry delay over):
how long the next task in line has waited.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import redis.asyncio as aioredis
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from agentqueue.core.base.priority import Priority
from agentqueue.core.queues.broker import NAMESPACE
from agentqueue.core.queues.depth import queue_keys

#: The queues read by default: one per priority.
QUEUES: tuple[str, ...] = tuple(priority.value for priority in Priority)


@dataclass(frozen=True)
class QueueStats:
    queue: str
    depth: int
    in_flight: int
    delayed: int
    dead_letters: int
    #: Seconds the oldest ready message has waited (0 when none waits).
    oldest_age_s: float


def _ready_at_ms(raw: bytes | str | None) -> float | None:
    """When an encoded Dramatiq message became ready (ms): queued, or its eta."""
    if raw is None:
        return None
    try:
        message = json.loads(raw)
        queued = float(message.get("message_timestamp", 0))
        eta = float((message.get("options") or {}).get("eta", 0))
    except (ValueError, TypeError, AttributeError):
        return None
    return max(queued, eta) or None


async def read_queue_stats(
    redis: aioredis.Redis,
    queues: Sequence[str] = QUEUES,
    *,
    namespace: str = NAMESPACE,
) -> list[QueueStats]:
    """Every queue's stats in two round trips (see the module docstring)."""
    keys = [queue_keys(q, namespace) for q in queues]
    async with redis.pipeline(transaction=False) as pipe:
        for k in keys:
            pipe.llen(k["list"])
            pipe.hlen(k["msgs"])
            pipe.hlen(k["delayed"])
            pipe.hlen(k["dead"])
            pipe.lindex(k["list"], 0)
        replies = await pipe.execute()
    oldest_ids = [replies[i * 5 + 4] for i in range(len(queues))]
    async with redis.pipeline(transaction=False) as pipe:
        for k, message_id in zip(keys, oldest_ids, strict=True):
            pipe.hget(k["msgs"], message_id or "")
        oldest = await pipe.execute()
    now_ms = time.time() * 1000
    out = []
    for i, queue in enumerate(queues):
        listed, unacked, delayed, dead, _ = replies[i * 5 : i * 5 + 5]
        ready = min(int(listed), int(unacked))
        ready_at = _ready_at_ms(oldest[i]) if oldest_ids[i] is not None else None
        age = max(0.0, (now_ms - ready_at) / 1000) if ready_at is not None else 0.0
        out.append(
            QueueStats(
                queue=queue,
                depth=ready,
                in_flight=int(unacked) - ready,
                delayed=int(delayed),
                dead_letters=int(dead),
                oldest_age_s=round(age, 3),
            )
        )
    return out


class QueueStatsCollector(Collector):
    """The stats read for one scrape, as gauge families (None: Redis did not answer)."""

    def __init__(self, stats: list[QueueStats] | None) -> None:
        self.stats = stats

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily(
            "agentqueue_queue_stats_up", "1 when the queues' stats could be read from Redis"
        )
        up.add_metric([], 1 if self.stats is not None else 0)
        yield up
        if self.stats is None:
            return
        families = {
            "depth": GaugeMetricFamily(
                "agentqueue_queue_depth",
                "Messages ready and not yet fetched by a worker",
                labels=["queue"],
            ),
            "in_flight": GaugeMetricFamily(
                "agentqueue_queue_in_flight",
                "Messages fetched by a worker and not acked (prefetched or running)",
                labels=["queue"],
            ),
            "delayed": GaugeMetricFamily(
                "agentqueue_queue_delayed",
                "Retries and delayed messages waiting for their time",
                labels=["queue"],
            ),
            "dead_letters": GaugeMetricFamily(
                "agentqueue_queue_dead_letters",
                "Dead-lettered messages kept by the broker",
                labels=["queue"],
            ),
            "oldest_age_s": GaugeMetricFamily(
                "agentqueue_queue_oldest_age_seconds",
                "How long the oldest ready message has waited (0 when none waits)",
                labels=["queue"],
            ),
        }
        for stats in self.stats:
            for field, family in families.items():
                family.add_metric([stats.queue], float(getattr(stats, field)))
        yield from families.values()

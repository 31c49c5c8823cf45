"""How much work a Dramatiq queue holds, read straight from the broker's Redis keys.

Scaling on ``LLEN`` of the queue list alone undercounts: each worker process prefetches
up to twice its threads, and those messages leave the list while they wait or run. The
``.msgs`` hash keeps every message until it is acked, so it counts ready *and* in flight.
Delayed messages and pending retries live in the delay queue (``.DQ``); a queue scaled to
zero never runs them, so they are counted apart. Dead letters (``.XQ``) are reported but
need no worker. The operator, the CLI and the gateway all read depth through here, so
they agree on what "depth" means.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis

from agentqueue.core.queues.broker import NAMESPACE


@dataclass(frozen=True)
class QueueDepth:
    """Messages of one queue, by where they are."""

    #: Waiting in the queue list, fetched by no worker yet.
    ready: int
    #: Fetched by a worker (prefetched or running) and not acked yet.
    in_flight: int
    #: Scheduled for later: delayed messages and retries waiting for their backoff.
    delayed: int
    #: Dead-lettered (failed for good); kept by Dramatiq for a week, need no worker.
    dead: int

    @property
    def active(self) -> int:
        """Messages that need a worker now (ready + in flight)."""
        return self.ready + self.in_flight

    @property
    def waiting(self) -> bool:
        """Anything that will need a worker, now or later."""
        return self.active > 0 or self.delayed > 0


def queue_keys(queue: str, namespace: str = NAMESPACE) -> dict[str, str]:
    """The broker's keys for ``queue`` (Dramatiq's Redis layout)."""
    base = f"{namespace}:{queue}"
    return {
        "list": base,
        "msgs": f"{base}.msgs",
        "delayed": f"{base}.DQ.msgs",
        "dead": f"{base}.XQ.msgs",
    }


async def read_depth(
    redis: aioredis.Redis, queue: str, *, namespace: str = NAMESPACE
) -> QueueDepth:
    """One consistent snapshot (a MULTI/EXEC pipeline) of ``queue``'s depth."""
    keys = queue_keys(queue, namespace)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.llen(keys["list"])
        pipe.hlen(keys["msgs"])
        pipe.hlen(keys["delayed"])
        pipe.hlen(keys["dead"])
        listed, unacked, delayed, dead = await pipe.execute()
    ready = min(int(listed), int(unacked))
    return QueueDepth(
        ready=ready, in_flight=int(unacked) - ready, delayed=int(delayed), dead=int(dead)
    )

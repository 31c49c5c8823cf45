"""Breaker openings shared by every process on one Redis: learn an outage once.

Why: each gateway replica and each worker has its own breakers
(``core/llm/breaker.py``), so without sharing every process pays its own
``failure_threshold`` failed attempts before it stops calling a dead provider — and a
gateway that sees little traffic pays them on interactive calls, a person waiting through
a failed attempt before the fallback answers. LiteLLM's router keeps its deployment
cooldowns in Redis for the same reason.

How: a process whose breaker opens from its own failures publishes the deployment on the
``aq:breakers`` channel; every other process subscribed opens its breaker for that
deployment (a full cool-down from when it heard). Pub/sub, not a key read per call: the
hot path stays free of round trips, and a message missed (a process starting, Redis
blinking) costs only what no sharing costs — that process learns by its own failures.
Only openings travel: recovery is each process's own half-open probe, so one lucky
probe elsewhere never sends everyone's traffic back to a provider still failing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Mapping

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from agentqueue.core.base.ids import random_id
from agentqueue.core.llm.breaker import CircuitBreaker

log = logging.getLogger("agentqueue.breakers")

#: The channel openings are published on.
CHANNEL = "aq:breakers"


class BreakerExchange:
    """Publishes this process's breaker openings and applies its peers'; see the module
    docstring. :meth:`attach` the breakers, :meth:`start` in the running loop,
    :meth:`aclose` when done."""

    def __init__(self, redis: aioredis.Redis, channel: str = CHANNEL) -> None:
        self.redis = redis
        self.channel = channel
        #: This process's name on the channel: its own messages come back and are skipped.
        self.origin = random_id()
        self.breakers: Mapping[str, CircuitBreaker] = {}
        self._listening: asyncio.Task[None] | None = None
        self._sending: set[asyncio.Task[None]] = set()
        #: Openings applied from peers (tests and the log).
        self.heard = 0

    def attach(self, breakers: Mapping[str, CircuitBreaker]) -> None:
        """Share the openings of ``breakers`` (deployment key → breaker)."""
        self.breakers = breakers
        for key, breaker in breakers.items():
            breaker.on_open = lambda key=key: self._announce(key)

    def _announce(self, deployment: str) -> None:
        """Called by a breaker as it opens (synchronously, in the loop): publish soon."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # opened outside a loop (a test's breaker): nothing to tell
            return
        sending = loop.create_task(self._publish(deployment))
        self._sending.add(sending)
        sending.add_done_callback(self._sending.discard)

    async def _publish(self, deployment: str) -> None:
        message = json.dumps({"deployment": deployment, "origin": self.origin})
        try:
            await self.redis.publish(self.channel, message)
        except RedisError as exc:  # peers learn by their own failures, as without sharing
            log.warning("could not share the opening of %s's breaker: %s", deployment, exc)

    def start(self) -> None:
        """Listen for peers' openings (idempotent; needs a running loop)."""
        if self._listening is None or self._listening.done():
            self._listening = asyncio.get_running_loop().create_task(self._listen())

    async def _listen(self) -> None:
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                async for message in pubsub.listen():
                    self._apply(message.get("data"))
            except RedisError as exc:
                log.warning("breaker openings not heard for now: %s", exc)
                await asyncio.sleep(1.0)
            finally:
                # a chain never closed, its loop gone: the connection cannot be closed
                # politely any more (redis-py asks for the running loop), nor need it be
                with contextlib.suppress(RuntimeError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    def _apply(self, data: object) -> None:
        try:
            told = json.loads(data) if isinstance(data, str | bytes) else None
        except ValueError:
            told = None
        if not isinstance(told, dict) or told.get("origin") == self.origin:
            return
        breaker = self.breakers.get(str(told.get("deployment")))
        if breaker is not None and breaker.open_by_peer():
            self.heard += 1
            log.info("%s's breaker opened: another process saw it fail", breaker.provider)

    async def aclose(self) -> None:
        listening, self._listening = self._listening, None
        if listening is not None:
            listening.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listening
        for sending in list(self._sending):
            with contextlib.suppress(asyncio.CancelledError, RedisError):
                await sending

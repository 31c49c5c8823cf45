"""The flusher and poller of provider batches: any worker runs it, one at a time (a lock).

**Flush.** A group is submitted when it holds ``max_requests`` requests, ``max_bytes``
bytes, or its oldest waited ``max_age`` seconds, and the provider's open batches leave
room under its enqueued-token cap. One script moves the requests out of pending into a
batch record (state ``preparing``), moves each task's owner key to the batch id and
counts the tokens as enqueued; only then is the SDK called, and the provider's batch id
written (state ``submitted``). A submitter that dies in between leaves a ``preparing``
batch that is given back to pending after ``preparing_timeout`` (the provider may then
run it twice — paid twice, applied once).

**Poll.** Each open batch is retrieved at its due time (backoff doubling from
``poll_interval`` to ``poll_max``). When it ended, each task's outcome is applied under a
compare-and-set that watches the task's record and owner key: only a task still owned by
*this* batch is changed, and the owner key goes in the same transaction — so a result
is applied exactly once, whoever polls, however often, after whatever crash. An answer
succeeds the task (its call at batch prices, the tenant's ledger, the terminal event and
webhook); an error sends it back to pending (or online: ``retry_online``) until
``max_retries``, then fails it; a request that never ran (batch expired or cancelled) is
resubmitted without counting a retry. Then the batch record goes and its tokens leave the
enqueued count. The state lives in Redis only: a restarted worker resumes polling.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import WatchError

from agentqueue.core.base.ids import random_id
from agentqueue.core.base.pass_lock import renewed_lock
from agentqueue.core.base.priority import Priority
from agentqueue.core.batches import layout
from agentqueue.core.batches.backends import BatchState, Outcome, RequestError
from agentqueue.core.batches.collector import BatchCollector
from agentqueue.core.batches.pricing import batch_cost_usd
from agentqueue.core.llm.call_result import Attempt
from agentqueue.core.llm.messages import Completion
from agentqueue.core.tasks.events import EventType
from agentqueue.core.tasks.model import (
    CallRecord,
    TaskError,
    TaskRecord,
    TaskResult,
    TaskSpec,
    TaskState,
)
from agentqueue.core.tasks.store import batch_owner_key, settled_writes, task_key

log = logging.getLogger(__name__)

#: Queue a task message (back online) or a webhook delivery: (task id, its priority).
Enqueue = Callable[[str, Priority], Awaitable[None]]
ToResult = Callable[[TaskSpec, Completion], TaskResult]

_TAKE = """
-- KEYS: pending zset, lines hash, bytes, batch hash, batch lines, open zset, enqueued
-- ARGV: batch id, group, max requests, max bytes, now, token cap (-1: none),
--       owner key prefix, owner key suffix
local ids = redis.call("zrange", KEYS[1], 0, tonumber(ARGV[3]) - 1)
local cap = tonumber(ARGV[6])
local used = tonumber(redis.call("get", KEYS[7]) or "0")
local order, bytes, tokens = {}, 0, 0
for _, id in ipairs(ids) do
    local owner = ARGV[7] .. id .. ARGV[8]
    local value = redis.call("hget", KEYS[2], id)
    if (not value) or redis.call("get", owner) ~= "pending" then
        redis.call("zrem", KEYS[1], id)
        if value then
            redis.call("hdel", KEYS[2], id)
            redis.call("decrby", KEYS[3], #value - string.find(value, " ", 1, true))
        end
    else
        local sp = string.find(value, " ", 1, true)
        local n = tonumber(string.sub(value, 1, sp - 1))
        local size = #value - sp
        if #order > 0 and bytes + size > tonumber(ARGV[4]) then break end
        -- over the cap: wait for open batches to end (one request alone always goes)
        if cap >= 0 and used + tokens + n > cap and (used > 0 or #order > 0) then break end
        order[#order + 1] = id
        bytes, tokens = bytes + size, tokens + n
        redis.call("hset", KEYS[5], id, value)
        redis.call("zrem", KEYS[1], id)
        redis.call("hdel", KEYS[2], id)
        redis.call("decrby", KEYS[3], size)
        redis.call("set", owner, ARGV[1], "KEEPTTL")
    end
end
if #order == 0 then return {0, 0} end
redis.call("hset", KEYS[4], "group", ARGV[2], "state", "preparing", "created", ARGV[5],
           "order", cjson.encode(order), "tokens", tokens, "polls", 0)
redis.call("zadd", KEYS[6], ARGV[5], ARGV[1])
redis.call("incrby", KEYS[7], tokens)
return {#order, tokens}
"""

_GIVE_BACK = """
-- KEYS: owner key, pending zset, lines hash, bytes, groups
-- ARGV: batch id, task id, "<tokens> <line>", now, group
if redis.call("get", KEYS[1]) ~= ARGV[1] then return 0 end
redis.call("set", KEYS[1], "pending", "KEEPTTL")
redis.call("zadd", KEYS[2], ARGV[4], ARGV[2])
redis.call("hset", KEYS[3], ARGV[2], ARGV[3])
redis.call("incrby", KEYS[4], #ARGV[3] - string.find(ARGV[3], " ", 1, true))
redis.call("sadd", KEYS[5], ARGV[5])
return 1
"""

_CLOSE = """
-- KEYS: batch hash, batch lines, open zset, enqueued;  ARGV: batch id
local tokens = redis.call("hget", KEYS[1], "tokens")
if not tokens then return 0 end
redis.call("decrby", KEYS[4], tokens)
redis.call("del", KEYS[1], KEYS[2])
redis.call("zrem", KEYS[3], ARGV[1])
return 1
"""


def _hold_key(group: str) -> str:
    """Set for ``poll_interval`` after a group's submission failed (provider down)."""
    return f"{layout.PREFIX}hold:{group}"


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _default_result(spec: TaskSpec, completion: Completion) -> TaskResult:
    return TaskResult(
        text=completion.text,
        provider=completion.provider,
        model=completion.model,
        tool_calls=completion.tool_calls,
    )


class BatchProcessor:
    """Flushes pending groups into provider batches and applies ended batches."""

    def __init__(
        self,
        collector: BatchCollector,
        *,
        to_result: ToResult = _default_result,
        requeue: Enqueue | None = None,
        notify: Enqueue | None = None,
        on_finished: Callable[[TaskRecord], None] | None = None,
        lock_seconds: float = 10.0,
    ) -> None:
        self.collector = collector
        self.store = collector.store
        self.redis: aioredis.Redis = collector.redis
        self.policy = collector.policy
        self.to_result = to_result
        #: Queue a task message: a failed request retried online (``retry_online``).
        self.requeue = requeue
        #: Queue a finished task's webhook (the worker's ``webhook_enqueuer``).
        self.notify = notify
        #: Told of every task a batch finished (the worker counts it in its metrics, as it
        #: counts the tasks it runs online).
        self.on_finished = on_finished
        #: The pass lock's expiry, renewed while a pass runs: how long a worker killed
        #: mid-pass keeps the others from flushing and polling.
        self.lock_seconds = lock_seconds
        self._take = self.redis.register_script(_TAKE)
        self._give_back_lua = self.redis.register_script(_GIVE_BACK)
        self._close = self.redis.register_script(_CLOSE)

    # -- the loop ----------------------------------------------------------------------

    async def run(self, stop: asyncio.Event, interval: float = 1.0) -> None:
        """Flush and poll every ``interval`` seconds until ``stop``; errors are logged."""
        while not stop.is_set():
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("batch pass failed; trying again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)

    async def run_once(self, *, force: bool = False) -> bool:
        """One pass under the lock (False: another process holds it). ``force``: flush
        every group and poll every open batch now (tests, benchmarks, shutdown)."""
        async with renewed_lock(self.redis, layout.LOCK_KEY, ttl=self.lock_seconds) as held:
            if not held:
                return False
            await self.flush(force=force)
            await self.poll(force=force)
        return True

    # -- flush -------------------------------------------------------------------------

    async def _due(self, group: str, now: float) -> bool:
        pending = layout.pending_key(group)
        count = await self.redis.zcard(pending)
        if count == 0:
            return False
        size = int(await self.redis.get(layout.bytes_key(group)) or 0)
        oldest = await self.redis.zrange(pending, 0, 0, withscores=True)
        age = now - float(oldest[0][1]) if oldest else 0.0
        p = self.policy
        return count >= p.max_requests or size >= p.max_bytes or age >= p.max_age

    async def flush(self, *, force: bool = False) -> list[str]:
        """Submit every due group; the batch ids submitted."""
        submitted: list[str] = []
        for raw in await self.redis.smembers(layout.GROUPS_KEY):
            group = _text(raw)
            while (force and await self.redis.zcard(layout.pending_key(group))) or (
                await self._due(group, time.time())
            ):
                batch_id = await self._submit(group)
                if batch_id is None:
                    break
                submitted.append(batch_id)
            if not await self.redis.zcard(layout.pending_key(group)):
                await self.redis.srem(layout.GROUPS_KEY, group)
        return submitted

    async def _submit(self, group: str) -> str | None:
        provider, model, _deployment = layout.split_group(group)
        backend = self.collector.backend(group)
        if backend is None:
            return None  # no worker here serves it: one that does will
        if await self.redis.exists(_hold_key(group)):
            return None  # its last submission failed: not before the hold ends
        batch_id = "b" + random_id()
        cap = self.policy.enqueued_tokens.get(provider, -1)
        count, tokens = await self._take(
            keys=[
                layout.pending_key(group),
                layout.lines_key(group),
                layout.bytes_key(group),
                layout.batch_key(batch_id),
                layout.batch_lines_key(batch_id),
                layout.OPEN_KEY,
                layout.enqueued_key(provider),
            ],
            args=[
                batch_id,
                group,
                self.policy.max_requests,
                self.policy.max_bytes,
                time.time(),
                cap,
                "aq:task:",
                ":batch",
            ],
        )
        if not int(count):
            log.info("batch group %s waits: %s's enqueued-token cap is reached", group, provider)
            return None
        order, lines = await self._lines(batch_id)
        try:
            provider_id = await backend.submit([lines[t] for t in order], model)
        except Exception as exc:
            log.warning("batch of %d for %s not submitted (%s); back to pending", count, group, exc)
            await self._give_all_back(batch_id, group, order)
            hold = int(self.policy.poll_interval * 1000)
            await self.redis.set(_hold_key(group), 1, px=max(hold, 1))
            return None
        await self.redis.hset(
            layout.batch_key(batch_id),
            mapping={"provider_batch": provider_id, "state": "submitted", "submitted": time.time()},
        )
        await self.redis.zadd(layout.OPEN_KEY, {batch_id: time.time() + self.policy.poll_interval})
        log.info(
            "batch %s (%s %s): %d requests, ~%s tokens", batch_id, group, provider_id, count, tokens
        )
        return batch_id

    async def _lines(self, batch_id: str) -> tuple[list[str], dict[str, dict[str, Any]]]:
        """The batch's task order and each task's request line."""
        order = json.loads(
            _text(await self.redis.hget(layout.batch_key(batch_id), "order") or "[]")
        )
        raw = await self.redis.hgetall(layout.batch_lines_key(batch_id))
        lines = {}
        for k, v in raw.items():
            _, _, line = _text(v).partition(" ")
            lines[_text(k)] = json.loads(line)
        return order, lines

    async def _give_back(self, batch_id: str, group: str, task_id: str) -> bool:
        """The task back to its group's pending list, if this batch still owns it."""
        value = await self.redis.hget(layout.batch_lines_key(batch_id), task_id)
        if value is None:
            return False
        done = await self._give_back_lua(
            keys=[
                batch_owner_key(task_id),
                layout.pending_key(group),
                layout.lines_key(group),
                layout.bytes_key(group),
                layout.GROUPS_KEY,
            ],
            args=[batch_id, task_id, _text(value), time.time(), group],
        )
        return bool(done)

    async def _give_all_back(self, batch_id: str, group: str, order: list[str]) -> None:
        for task_id in order:
            await self._give_back(batch_id, group, task_id)
        await self._close_batch(batch_id)

    async def _close_batch(self, batch_id: str) -> None:
        """The batch record goes; its tokens leave the provider's enqueued count."""
        group = await self._group(batch_id)
        if not group:
            return
        provider = layout.split_group(group)[0]
        await self._close(
            keys=[
                layout.batch_key(batch_id),
                layout.batch_lines_key(batch_id),
                layout.OPEN_KEY,
                layout.enqueued_key(provider),
            ],
            args=[batch_id],
        )

    async def _group(self, batch_id: str) -> str:
        return _text(await self.redis.hget(layout.batch_key(batch_id), "group") or "")

    # -- poll --------------------------------------------------------------------------

    async def poll(self, *, force: bool = False) -> list[str]:
        """Retrieve every due open batch; apply and close those that ended. The batch ids
        closed."""
        now = time.time()
        due = await self.redis.zrangebyscore(layout.OPEN_KEY, "-inf", "+inf" if force else now)
        closed = []
        for raw in due:
            batch_id = _text(raw)
            try:
                if await self._poll_one(batch_id, now):
                    closed.append(batch_id)
            except Exception:
                log.exception("batch %s: poll failed; tried again later", batch_id)
                await self._later(batch_id, now)
        return closed

    async def _later(self, batch_id: str, now: float) -> None:
        polls = await self.redis.hincrby(layout.batch_key(batch_id), "polls", 1)
        delay = min(self.policy.poll_max, self.policy.poll_interval * 2 ** max(0, polls - 1))
        await self.redis.zadd(layout.OPEN_KEY, {batch_id: now + delay})

    async def _poll_one(self, batch_id: str, now: float) -> bool:
        info = {
            _text(k): _text(v)
            for k, v in (await self.redis.hgetall(layout.batch_key(batch_id))).items()
        }
        if not info:
            await self.redis.zrem(layout.OPEN_KEY, batch_id)
            return False
        group = info["group"]
        if info.get("state") != "submitted":
            if now - float(info.get("created", now)) >= self.policy.preparing_timeout:
                order, _lines = await self._lines(batch_id)
                log.warning(
                    "batch %s never submitted (its submitter died?); back to pending", batch_id
                )
                await self._give_all_back(batch_id, group, order)
                return True
            await self.redis.zadd(layout.OPEN_KEY, {batch_id: now + self.policy.poll_interval})
            return False
        backend = self.collector.backend(group)
        if backend is None:
            await self._later(batch_id, now)
            return False
        provider_id = info["provider_batch"]
        state = await backend.state(provider_id)
        if state is BatchState.RUNNING:
            await self._later(batch_id, now)
            return False
        order, lines = await self._lines(batch_id)
        _provider, model, _deployment = layout.split_group(group)
        outcomes = await backend.results(provider_id, order, lines, model)
        latency = now - float(info.get("submitted", now))
        for task_id in order:
            await self._apply(batch_id, group, task_id, outcomes.get(task_id), latency)
        await self._close_batch(batch_id)
        log.info(
            "batch %s (%s) %s: %d tasks applied", batch_id, provider_id, state.value, len(order)
        )
        return True

    # -- apply, exactly once -----------------------------------------------------------

    async def _owned_update(
        self,
        task_id: str,
        batch_id: str,
        change: Callable[[TaskRecord], bool],
        then: Callable[[Any, TaskRecord], None] | None = None,
    ) -> TaskRecord | None:
        """Change the record only while this batch owns the task; the owner key goes in
        the same transaction. None: not owned (applied already) or ``change`` declined."""
        owner = batch_owner_key(task_id)
        key = task_key(task_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key, owner)
                    if _text(await pipe.get(owner) or "") != batch_id:
                        await pipe.unwatch()  # type: ignore[no-untyped-call]
                        return None
                    raw = await pipe.get(key)
                    record = TaskRecord.model_validate_json(raw) if raw is not None else None
                    if record is None or record.state.terminal or not change(record):
                        pipe.multi()  # type: ignore[no-untyped-call]
                        pipe.delete(owner)  # finished meanwhile (cancelled): nothing owed
                        await pipe.execute()
                        return None
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.set(key, record.model_dump_json(exclude_none=True), ex=self.store.ttl)
                    pipe.delete(owner)
                    if then is not None:
                        then(pipe, record)
                    await pipe.execute()
                    return record
                except WatchError:
                    continue

    async def _apply(
        self, batch_id: str, group: str, task_id: str, outcome: Outcome, latency: float
    ) -> None:
        if _text(await self.redis.get(batch_owner_key(task_id)) or "") != batch_id:
            return  # applied already (a poll replayed after a crash): nothing to count
        if outcome is None:  # never ran: expired, cancelled → the next batch
            if await self._give_back(batch_id, group, task_id):
                log.info(
                    "task %s: its batch %s ended before it ran; resubmitted", task_id, batch_id
                )
            return
        if isinstance(outcome, RequestError):
            await self._failed(batch_id, group, task_id, outcome)
            return
        await self._succeeded(batch_id, group, task_id, outcome, latency)

    async def _succeeded(
        self, batch_id: str, group: str, task_id: str, completion: Completion, latency: float
    ) -> None:
        provider, model, deployment = layout.split_group(group)
        cost = batch_cost_usd(self.collector.catalog, provider, model, completion.usage)
        call = CallRecord(
            id=f"{batch_id}:{task_id}",
            provider=completion.provider,
            model=completion.model,
            usage=completion.usage,
            cost_usd=cost,
            latency_s=latency,
            attempts=[
                Attempt(
                    provider=provider,
                    model=model,
                    deployment=deployment,
                    ok=True,
                    latency_s=latency,
                )
            ],
            step="batch",
            prices_as_of=self.collector.catalog.prices_as_of,
        )
        result: list[TaskRecord] = []

        def change(r: TaskRecord) -> bool:
            if any(c.id == call.id for c in r.calls):
                return False
            r.calls.append(call)
            r.state, r.result, r.error = (
                TaskState.SUCCEEDED,
                self.to_result(r.spec, completion),
                None,
            )
            r.finished_at = time.time()
            r.finished_attempt = r.attempts
            result.append(r)
            return True

        def then(pipe: Any, r: TaskRecord) -> None:
            self.store.ledger.record_in(
                pipe, r.tenant, model, call.usage, call.cost_usd, key_id=r.key_id, tags=r.tags
            )
            settled_writes(task_id, self.store.events)(pipe, r)
            pipe.hdel(layout.TRIES_KEY, task_id)

        written = await self._owned_update(task_id, batch_id, change, then)
        if written is None:
            return
        await self.store.events.try_publish(
            task_id,
            EventType.LLM_CALL,
            {
                "provider": completion.provider,
                "model": completion.model,
                "usage": completion.usage.model_dump(),
                "cost_usd": float(cost),
                "latency_s": round(latency, 4),
                "step": "batch",
                "batch": batch_id,
            },
        )
        await self._notify(written)

    async def _notify(self, record: TaskRecord) -> None:
        if self.on_finished is not None:
            try:
                self.on_finished(record)
            except Exception:
                log.exception("task %s: its metrics could not be recorded", record.id)
        if record.spec.webhook_url and self.notify is not None:
            try:
                await self.notify(record.id, record.spec.priority)
            except Exception:
                log.exception("task %s: its webhook could not be queued", record.id)

    async def _failed(self, batch_id: str, group: str, task_id: str, error: RequestError) -> None:
        tries = await self.redis.hincrby(layout.TRIES_KEY, task_id, 1)
        task_error = TaskError(type=error.type, message=error.message, retryable=error.retryable)
        if not error.retryable or tries > self.policy.max_retries:

            def fail(r: TaskRecord) -> bool:
                r.state, r.error = TaskState.FAILED, task_error
                r.finished_at = time.time()
                r.finished_attempt = r.attempts
                return True

            def then(pipe: Any, r: TaskRecord) -> None:
                settled_writes(task_id, self.store.events)(pipe, r)
                pipe.hdel(layout.TRIES_KEY, task_id)

            written = await self._owned_update(task_id, batch_id, fail, then)
            if written is not None:
                log.info("task %s failed in batch %s: %s", task_id, batch_id, error.message)
                await self._notify(written)
            return
        retry = {"delay_s": 0, "error": task_error.model_dump(), "batch": batch_id}
        if self.policy.retry_online and self.requeue is not None:

            def online(r: TaskRecord) -> bool:
                r.state, r.last_error = TaskState.QUEUED, task_error
                return True

            written = await self._owned_update(task_id, batch_id, online)
            if written is not None:
                # a crash before this message leaves a queued task with no message and
                # no owner: the reconciler gives it one
                await self.requeue(task_id, written.spec.priority)
                await self.store.events.try_publish(
                    task_id, EventType.RETRY, {**retry, "online": True}
                )
            return
        if await self._give_back(batch_id, group, task_id):
            await self.store.events.try_publish(task_id, EventType.RETRY, retry)

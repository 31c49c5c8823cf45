"""The collector: a batch-path task's request goes to a pending list, not to the provider.

The worker calls :meth:`BatchCollector.collect` instead of running the task online; in one
transaction (``WATCH`` on the record and its owner key) the request line joins its group's
pending list and the task's owner key says ``pending``. The worker then acks the queue
message: from there the batch records own the task (the reconciler sees the owner key and
leaves it alone; the operator's queue depth no longer counts it). A redelivered message of
a task already owned finds the owner key and only acks.

The task's record stays ``running`` (started by the runner; no new state, so no client,
listing or transition sees anything new): the owner key is the sub-state.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import redis.asyncio as aioredis
from redis.exceptions import WatchError

from agentqueue.core.batches import layout
from agentqueue.core.batches.backends import BatchBackend, backend_for
from agentqueue.core.llm.catalog import Catalog, UnknownModel
from agentqueue.core.llm.providers.base import Provider
from agentqueue.core.tasks.model import TaskRecord
from agentqueue.core.tasks.store import TaskStore, batch_owner_key, task_key

#: The providers with a batch API, in the order a task is routed to one.
BATCH_PROVIDERS = ("openai", "anthropic", "google")


@dataclass(frozen=True)
class BatchPolicy:
    """When to flush, how to poll, what to do with failures (worker settings)."""

    #: Flush a group when it holds this many requests …
    max_requests: int = 1000
    #: … or this many bytes of request lines …
    max_bytes: int = 50_000_000
    #: … or its oldest request waited this long (seconds).
    max_age: float = 60.0
    #: First poll this long after submission, then doubling up to ``poll_max``.
    poll_interval: float = 30.0
    poll_max: float = 600.0
    #: A request's failed batch attempts before its task fails.
    max_retries: int = 3
    #: A failed request goes online (a queue message) rather than into the next batch.
    retry_online: bool = False
    #: Tokens each provider may have in open batches (its enqueued-token limit); absent:
    #: no cap. Counted apart from the online budget, which batch traffic never charges.
    enqueued_tokens: Mapping[str, int] = field(default_factory=dict)
    #: A batch still ``preparing`` (its submitter died before the provider answered)
    #: this long is given back to pending.
    preparing_timeout: float = 300.0


def estimated_tokens(line_json: str, max_tokens: int) -> int:
    """Tokens a request line may use: ~4 bytes a prompt token, plus its output cap."""
    return len(line_json) // 4 + max_tokens


class BatchCollector:
    """Routes a task to a provider batch group and records its request as pending."""

    def __init__(
        self,
        store: TaskStore,
        providers: Sequence[Provider],
        catalog: Catalog,
        *,
        provider: str | None = None,
        policy: BatchPolicy | None = None,
    ) -> None:
        self.store = store
        self.redis: aioredis.Redis = store.redis
        self.catalog = catalog
        self.policy = policy or BatchPolicy()
        usable = [p for p in providers if p.name in BATCH_PROVIDERS]
        if provider is not None:
            usable = [p for p in usable if p.name == provider]
        self.providers = usable
        #: group → (backend, provider adapter); the processor looks groups up here.
        self.backends: dict[str, BatchBackend] = {}

    def backend(self, group: str) -> BatchBackend | None:
        if group in self.backends:
            return self.backends[group]
        provider, _model, deployment = layout.split_group(group)
        for p in self.providers:
            if p.name == provider and p.deployment == deployment:
                self.backends[group] = backend_for(p)
                return self.backends[group]
        return None

    def eligible(self, record: TaskRecord, *, queue_on: bool) -> bool:
        """A one-call task on the batch path: the task asked, or its queue is on."""
        wanted = record.spec.batch_api or queue_on
        return wanted and record.spec.kind == "completion" and bool(self.providers)

    def route(self, record: TaskRecord) -> tuple[Provider, str]:
        """The provider and model of the task's batch: the model it names if a batch
        provider serves it, else the first batch provider's default at its tier."""
        asked = record.spec.input.model
        if asked:
            try:
                info = self.catalog.get(asked)
            except UnknownModel:
                info = None
            if info is not None:
                for p in self.providers:
                    if p.name == info.provider:
                        return p, info.model
        provider = self.providers[0]
        return provider, self.catalog.default_model(provider.name, record.spec.input.tier).model

    async def collect(self, record: TaskRecord) -> bool:
        """Record the task's request as pending; False when a batch owns it already or it
        finished (a redelivered message): the caller only acks."""
        provider, model = self.route(record)
        group = layout.group_name(provider.name, model, provider.deployment)
        backend = self.backend(group)
        assert backend is not None
        line = json.dumps(backend.line(record.id, record.spec.input, model), separators=(",", ":"))
        tokens = estimated_tokens(line, record.spec.input.max_tokens)
        owner = batch_owner_key(record.id)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(task_key(record.id), owner)
                    raw = await pipe.get(task_key(record.id))
                    if raw is None or await pipe.exists(owner):
                        await pipe.unwatch()  # type: ignore[no-untyped-call]
                        return False
                    if TaskRecord.model_validate_json(raw).state.terminal:
                        await pipe.unwatch()  # type: ignore[no-untyped-call]
                        return False
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.set(owner, layout.PENDING, ex=self.store.ttl)
                    pipe.zadd(layout.pending_key(group), {record.id: time.time()}, nx=True)
                    pipe.hset(layout.lines_key(group), record.id, f"{tokens} {line}")
                    pipe.incrby(layout.bytes_key(group), len(line))
                    pipe.sadd(layout.GROUPS_KEY, group)
                    await pipe.execute()
                    return True
                except WatchError:
                    continue

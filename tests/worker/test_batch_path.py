"""The batch path end to end: the runner hands tasks to a provider batch, the processor
submits it through the provider's official SDK (the simulator's batch APIs), polls it and
applies the results — for OpenAI, Anthropic and Gemini.

Each test drives the processor pass by pass (``run_once(force=True)``) rather than
waiting on its timers; the simulator ends a batch at once (``delay_seconds`` 0).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from agentqueue.core.batches.collector import BatchCollector, BatchPolicy
from agentqueue.core.batches.processor import BatchProcessor
from agentqueue.core.calls.fallback import FallbackChain
from agentqueue.core.calls.registry import build_providers
from agentqueue.core.llm.catalog import load_catalog
from agentqueue.core.llm.messages import ChatMessage, CompletionRequest
from agentqueue.core.ratelimit.budget import BudgetLimits, budget_name
from agentqueue.core.ratelimit.gate import BudgetGate
from agentqueue.core.ratelimit.redis_budgets import RedisBudgets
from agentqueue.core.settings import CoreSettings
from agentqueue.core.tasks.model import TaskRecord, TaskSpec, TaskState
from agentqueue.core.tasks.store import TaskStore, batch_owner_key
from agentqueue.worker.agents.completion import completion_result
from agentqueue.worker.runner import TaskRunner


def _simulator_has_batches() -> bool:
    try:
        app = importlib.import_module("agentqueue.simulator.app")
    except ImportError:
        return False
    return "openai_batches" in inspect.getsource(app)


pytestmark = pytest.mark.skipif(
    not _simulator_has_batches(), reason="the simulator's batch APIs are not there yet"
)

PROVIDERS = ["openai", "anthropic", "google"]
POLICY = BatchPolicy(max_requests=100, max_age=3600, poll_interval=0.01, poll_max=0.01)


@pytest.fixture
async def collectors(simulator: Any, store: TaskStore) -> AsyncIterator[list[BatchCollector]]:
    """Collectors made on demand (one per "worker"), closed after the test."""
    made: list[BatchCollector] = []
    yield made
    for collector in made:
        for provider in collector.providers:
            await provider.aclose()


def _skip_unless_served(simulator: Any, provider: str) -> None:
    """Skip while the simulator does not serve ``provider``'s batch reads (Gemini's
    ``GET /v1/batches/{id}`` shares OpenAI's path: the simulator must route it by key)."""
    if provider != "google":
        return
    answer = httpx.get(
        f"{simulator.url}/v1/batches/probe", headers={"x-goog-api-key": "sim-google"}
    )
    if answer.status_code == 401:
        pytest.skip(
            "simulator routes GET /v1/batches/{id} with a Gemini key to OpenAI's Batch API "
            "(router order in simulator/app.py): Gemini batch reads not served yet"
        )


def _collector(
    simulator: Any,
    store: TaskStore,
    provider: str,
    made: list[BatchCollector],
    policy: BatchPolicy = POLICY,
) -> BatchCollector:
    settings = CoreSettings(simulator_url=simulator.url)
    collector = BatchCollector(
        store, build_providers(settings), load_catalog(), provider=provider, policy=policy
    )
    made.append(collector)
    return collector


async def _run_tasks(runner: TaskRunner, store: TaskStore, n: int) -> list[str]:
    ids = []
    for i in range(n):
        spec = TaskSpec(
            input=CompletionRequest(
                messages=[ChatMessage(role="user", content=f"Question {i}: why batch?")],
                max_tokens=64,
            ),
            batch_api=True,
        )
        record, _ = await store.create(TaskRecord(tenant="t", spec=spec))
        await runner.run(record.id, retries_done=0, retries_left=3)
        ids.append(record.id)
    return ids


async def _drain(
    processor: BatchProcessor, store: TaskStore, ids: list[str], passes: int = 20
) -> None:
    for _ in range(passes):
        await processor.run_once(force=True)
        records = [await store.get(i) for i in ids]
        if all(r.state.terminal for r in records):
            return
    raise AssertionError("tasks still waiting on their batch")


def _counting(processor: BatchProcessor, method: str) -> list[Any]:
    """Record each call of ``processor.<method>`` (its arguments), calling through."""
    calls: list[Any] = []
    original = getattr(processor, method)

    async def counted(*args: Any) -> Any:
        calls.append(args)
        return await original(*args)

    setattr(processor, method, counted)
    return calls


def _assert_batch_priced(record: TaskRecord) -> None:
    assert record.state is TaskState.SUCCEEDED, record.error
    assert record.result is not None and record.result.text
    [call] = record.calls
    online = load_catalog().cost_usd(call.attempts[0].model, call.usage)
    assert call.cost_usd == online * Decimal("0.5")
    assert call.cost_usd > 0


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_tasks_complete_at_batch_prices(
    provider: str,
    simulator: Any,
    store: TaskStore,
    chain: FallbackChain,
    collectors: list[BatchCollector],
) -> None:
    _skip_unless_served(simulator, provider)
    collector = _collector(simulator, store, provider, collectors)
    # the online path's shared budget for the model the batch uses: it must stay full
    budgets = RedisBudgets(store.redis)
    model = collector.catalog.default_model(
        provider, CompletionRequest(messages=[ChatMessage(role="user", content="x")]).tier
    ).model
    online_budget = budget_name(provider, model)
    await budgets.configure(online_budget, BudgetLimits(rpm=600, tpm=100_000))
    gated = FallbackChain(chain.providers, chain.catalog, gate=BudgetGate(budgets))
    runner = TaskRunner(store, gated, batches=collector)
    before = simulator.stats()
    full = await budgets.headroom(online_budget)
    ids = await _run_tasks(runner, store, 6)
    for task_id in ids:  # owned by the batch path, not run online
        assert await store.redis.get(batch_owner_key(task_id)) == b"pending"
    await _drain(BatchProcessor(collector, to_result=completion_result), store, ids)
    for task_id in ids:
        _assert_batch_priced(await store.get(task_id))
    # no online call was made: the online counters did not move, the budget is untouched
    assert simulator.stats().get("providers") == before.get("providers")
    after = await budgets.headroom(online_budget)
    assert after.open_leases == 0
    assert after.available_tokens == full.available_tokens == full.capacity_tokens
    assert after.available_requests == full.capacity_requests


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_worker_killed_mid_batch_another_finishes_it(
    provider: str,
    simulator: Any,
    store: TaskStore,
    chain: FallbackChain,
    collectors: list[BatchCollector],
) -> None:
    _skip_unless_served(simulator, provider)
    first = _collector(simulator, store, provider, collectors)
    runner = TaskRunner(store, chain, batches=first)
    ids = await _run_tasks(runner, store, 5)
    assert len(await BatchProcessor(first).flush(force=True)) == 1  # submitted; then gone
    second = _collector(simulator, store, provider, collectors)
    await _drain(BatchProcessor(second, to_result=completion_result), store, ids)
    for task_id in ids:
        _assert_batch_priced(await store.get(task_id))


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_failed_requests_retry_and_complete(
    provider: str,
    simulator: Any,
    store: TaskStore,
    chain: FallbackChain,
    collectors: list[BatchCollector],
) -> None:
    _skip_unless_served(simulator, provider)
    collector = _collector(simulator, store, provider, collectors)
    runner = TaskRunner(store, chain, batches=collector)
    ids = await _run_tasks(runner, store, 8)
    simulator.configure({"batches": {"error_rate": 0.5}})
    processor = BatchProcessor(collector, to_result=completion_result)
    failed = _counting(processor, "_failed")
    for _ in range(3):
        await processor.run_once(force=True)
    simulator.configure({"batches": {"error_rate": 0.0}})
    await _drain(processor, store, ids)
    for task_id in ids:
        _assert_batch_priced(await store.get(task_id))
    assert failed  # some requests failed, and were retried in a later batch


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_an_expired_batch_is_resubmitted(
    provider: str,
    simulator: Any,
    store: TaskStore,
    chain: FallbackChain,
    collectors: list[BatchCollector],
) -> None:
    _skip_unless_served(simulator, provider)
    collector = _collector(simulator, store, provider, collectors)
    runner = TaskRunner(store, chain, batches=collector)
    ids = await _run_tasks(runner, store, 4)
    simulator.configure({"batches": {"expire_next": 1}})
    processor = BatchProcessor(collector, to_result=completion_result)
    submitted = _counting(processor, "_submit")
    await _drain(processor, store, ids)
    assert len(submitted) == 2  # the expired batch, then its requests again
    for task_id in ids:
        _assert_batch_priced(await store.get(task_id))

"""``agentqueue top``: the overview read from a real Redis written by the real code paths
(tasks submitted with no worker, spend recorded by the quotas, a budget configured, a
task failed and dead-lettered by Dramatiq), drawn by ``--once``; and the gateway source
on a Prometheus exposition of the series it reads."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal

import pytest
import redis.asyncio as aioredis

from agentqueue.cli.__main__ import main
from agentqueue.cli.top_gateway import GatewayOverview, parse
from agentqueue.core.base.priority import Priority
from agentqueue.core.llm.messages import ChatMessage, CompletionRequest, Usage
from agentqueue.core.queues.broker import TaskBroker, make_broker
from agentqueue.core.queues.usage import record_usage
from agentqueue.core.ratelimit.budget import BudgetLimits, budget_name
from agentqueue.core.ratelimit.quotas import TenantQuota, TenantQuotas
from agentqueue.core.ratelimit.redis_budgets import RedisBudgets
from agentqueue.core.tasks.model import TaskError, TaskRecord, TaskSpec
from agentqueue.core.tasks.overview import RedisOverview, split_budget
from agentqueue.core.tasks.store import TaskStore
from agentqueue.core.tasks.submission import submit

SONNET = budget_name("anthropic", "claude-sonnet-4-6", "default")


def _record(priority: Priority, kind: str = "completion", tenant: str = "acme") -> TaskRecord:
    spec = TaskSpec(
        kind=kind,
        priority=priority,
        input=CompletionRequest(messages=[ChatMessage(role="user", content="Say hi")]),
    )
    return TaskRecord(tenant=tenant, spec=spec)


@pytest.fixture
def broker(redis_url: str) -> Iterator[TaskBroker]:
    broker = make_broker(redis_url)
    try:
        yield broker
    finally:
        broker.close()


async def _workload(aredis: aioredis.Redis, broker: TaskBroker) -> str:
    """Three tasks waiting on ``standard``, spend for two tenants, one budget, and one
    ``extract`` task failed for good (dead-lettered as its worker's Dramatiq does).
    Returns the failed task's id."""
    store = TaskStore(aredis, ttl=600)
    for _ in range(3):
        await submit(store, broker, _record(Priority.STANDARD))
    failed, _ = await submit(store, broker, _record(Priority.BATCH, kind="extract"))
    consumer = broker.consume("batch", prefetch=1, timeout=100)
    try:
        message = next(consumer)
        assert message is not None and message.args == (failed.id,)
        await store.start(failed.id)
        await store.fail(failed.id, TaskError(type="ProviderError", message="boom"))
        consumer.nack(message)
    finally:
        consumer.close()
    quotas = TenantQuotas(aredis, {"acme": TenantQuota(usd_per_day=Decimal(5))})
    usage = Usage(input_tokens=900, output_tokens=100)
    await quotas.record("acme", "claude-sonnet-4-6", usage, Decimal("0.0123"))
    await quotas.record("acme", "claude-sonnet-4-6", usage, Decimal("0.0100"))
    await quotas.record("globex", "gpt-5-mini", usage, Decimal("0.0020"))
    await RedisBudgets(aredis).configure(SONNET, BudgetLimits(rpm=50, tpm=40_000, margin=0.0))
    return failed.id


def test_a_budget_name_splits_into_provider_model_and_deployment() -> None:
    assert split_budget("anthropic:claude-sonnet-4-6:default") == (
        "anthropic",
        "claude-sonnet-4-6",
        "default",
    )
    assert split_budget("bedrock:anthropic.claude-v2:1:eu") == (
        "bedrock",
        "anthropic.claude-v2:1",
        "eu",
    )
    assert split_budget("openai:gpt-5") == ("openai", "gpt-5", "default")


async def test_the_redis_overview_reads_depth_age_budgets_spend_and_failures(
    aredis: aioredis.Redis, broker: TaskBroker
) -> None:
    failed = await _workload(aredis, broker)
    clock = [time.time() + 2.0]
    reader = RedisOverview(aredis, clock=lambda: clock[0])
    first = await reader.read()
    queues = {q.name: q for q in first.queues}
    assert queues["standard"].depth == 3 and queues["high"].depth == 0
    assert queues["standard"].oldest_age_s is not None and queues["standard"].oldest_age_s >= 2.0
    assert queues["high"].oldest_age_s is None
    assert queues["batch"].dead == 1 and queues["batch"].depth == 0
    assert queues["standard"].rate_per_s is None  # no previous read to measure from
    [budget] = first.budgets
    assert (budget.provider, budget.model, budget.deployment) == (
        "anthropic",
        "claude-sonnet-4-6",
        "default",
    )
    assert budget.capacity_tokens == 40_000 and budget.available_tokens == 40_000
    assert budget.capacity_requests == 50 and budget.denials is None
    assert first.spend == pytest.approx({"acme": 0.0223, "globex": 0.002})
    assert first.spend_total == pytest.approx(0.0243)
    assert first.fallbacks is None
    assert first.failures is not None
    [failure] = first.failures
    assert (failure.task_id, failure.kind, failure.error_type, failure.queue) == (
        failed,
        "extract",
        "ProviderError",
        "batch",
    )

    # two messages finish on standard within the next two seconds: 1 per second
    await record_usage(aredis, "standard", messages=2, now=clock[0])
    clock[0] += 2.0
    second = await reader.read()
    assert {q.name: q.rate_per_s for q in second.queues}["standard"] == pytest.approx(1.0)


async def test_a_tenant_spending_after_the_first_read_shows_on_the_next(
    aredis: aioredis.Redis,
) -> None:
    """The walk for tenants' usage keys is redone each second on a small keyspace."""
    clock = [time.time()]
    reader = RedisOverview(aredis, clock=lambda: clock[0])
    assert (await reader.read()).spend == {}
    usage = Usage(input_tokens=10, output_tokens=10)
    await TenantQuotas(aredis, {}).record("late", "gpt-5-mini", usage, Decimal("0.5"))
    clock[0] += 1.0
    assert (await reader.read()).spend == {"late": 0.5}


def test_top_once_prints_depth_spend_budgets_and_failures(
    redis_url: str,
    broker: TaskBroker,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import asyncio

    async def seed() -> str:
        client = aioredis.Redis.from_url(redis_url)
        try:
            return await _workload(client, broker)
        finally:
            await client.aclose()

    failed = asyncio.run(seed())
    monkeypatch.setenv("COLUMNS", "160")
    assert main(["top", "--once", "--redis-url", redis_url]) == 0
    out = capsys.readouterr().out
    lines = [line.strip("│ ") for line in out.splitlines()]
    [standard] = [line for line in lines if line.startswith("standard")]
    assert standard.split()[1] == "3"  # depth
    assert "$0.0223" in out and "$0.0243" in out and "globex" in out
    assert "claude-sonnet-4-6" in out and "40,000/40,000" in out
    assert failed in out and "ProviderError" in out and "extract" in out


def test_top_once_says_when_redis_cannot_be_reached(capsys: pytest.CaptureFixture[str]) -> None:
    from agentqueue.core.base.ports import free_port

    url = f"redis://127.0.0.1:{free_port()}/0"
    assert main(["top", "--once", "--redis-url", url]) == 1
    assert "cannot read" in capsys.readouterr().out


GPT5 = 'provider="openai",model="gpt-5",deployment="eu"'
EXPOSITION = """\
# TYPE agentqueue_queue_depth gauge
agentqueue_queue_depth{queue="standard"} 7
agentqueue_queue_depth{queue="high"} 0
# TYPE agentqueue_queue_in_flight gauge
agentqueue_queue_in_flight{queue="standard"} 2
# TYPE agentqueue_queue_dead_letters gauge
agentqueue_queue_dead_letters{queue="standard"} 1
# TYPE agentqueue_queue_oldest_age_seconds gauge
agentqueue_queue_oldest_age_seconds{queue="standard"} 12.5
# TYPE agentqueue_budget_available_tokens gauge
agentqueue_budget_available_tokens{{gpt5}} 1000
# TYPE agentqueue_budget_capacity_tokens gauge
agentqueue_budget_capacity_tokens{{gpt5}} 4000
# TYPE agentqueue_limiter_denials_total counter
agentqueue_limiter_denials_total{{gpt5},reason="deadline"} 3
agentqueue_limiter_denials_total{{gpt5},reason="quota"} 2
# TYPE agentqueue_provider_429s_total counter
agentqueue_provider_429s_total{{gpt5}} 4
# TYPE agentqueue_llm_cost_usd_total counter
agentqueue_llm_cost_usd_total{{gpt5},priority="standard",tenant="acme"} 1.25
agentqueue_llm_cost_usd_total{{gpt5},priority="batch",tenant="acme"} 0.25
# TYPE agentqueue_llm_fallbacks_total counter
agentqueue_llm_fallbacks_total{provider="anthropic",deployment="default"} 6
# TYPE agentqueue_tasks_finished_total counter
agentqueue_tasks_finished_total{priority="standard",kind="completion",status="succeeded"} FINISHED
agentqueue_tasks_finished_total{priority="standard",kind="extract",status="failed"} 2
""".replace("{gpt5}", GPT5)


async def test_the_gateway_overview_reads_the_metrics_it_names() -> None:
    gateway = GatewayOverview("http://gateway.invalid", "admin-key")
    try:
        assert gateway.client.headers["authorization"] == "Bearer admin-key"
        first = gateway.overview(parse(EXPOSITION.replace("FINISHED", "10")), 100.0)
        gateway._last_read = 100.0
        second = gateway.overview(parse(EXPOSITION.replace("FINISHED", "20")), 105.0)
    finally:
        await gateway.aclose()
    standard = {q.name: q for q in first.queues}["standard"]
    assert (standard.depth, standard.oldest_age_s, standard.rate_per_s) == (9, 12.5, None)
    assert (standard.dead, standard.delayed) == (1, None)
    assert {q.name: q.rate_per_s for q in second.queues}["standard"] == pytest.approx(2.0)
    [budget] = first.budgets
    assert (budget.provider, budget.model, budget.deployment) == ("openai", "gpt-5", "eu")
    assert (budget.available_tokens, budget.capacity_tokens) == (1000, 4000)
    assert (budget.denials, budget.provider_429s) == (5, 4)
    assert first.spend == {"acme": 1.5} and first.spend_scope == "since the processes started"
    assert first.fallbacks == {"anthropic:default": 6}
    assert first.failed_by_kind == {"extract": 2}
    assert first.failures is None


def test_the_gateway_source_scrapes_metrics_with_the_admin_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The gateway's exposition plus a worker's (``--metrics``): counters are summed
    across processes, a gauge exported by both is counted once."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from tests.servers import serving

    seen: list[str | None] = []
    worker_text = (
        "# TYPE agentqueue_llm_cost_usd_total counter\n"
        f'agentqueue_llm_cost_usd_total{{{GPT5},priority="batch",tenant="acme"}} 0.5\n'
        "# TYPE agentqueue_budget_available_tokens gauge\n"
        f"agentqueue_budget_available_tokens{{{GPT5}}} 1000\n"
    )

    def app(text: str) -> Starlette:
        async def metrics(request: Request) -> PlainTextResponse:
            seen.append(request.headers.get("authorization"))
            return PlainTextResponse(text)

        return Starlette(routes=[Route("/metrics", metrics)])

    monkeypatch.setenv("AGENTQUEUE_ADMIN_KEY", "from-env")
    monkeypatch.setenv("COLUMNS", "160")
    with (
        serving(app(EXPOSITION.replace("FINISHED", "1"))) as gateway,
        serving(app(worker_text)) as worker,
    ):
        assert main(["top", "--once", "--gateway", gateway, "--metrics", worker]) == 0
    assert seen == ["Bearer from-env"] * 2
    out = capsys.readouterr().out
    assert "$2.0000" in out and "1,000/4,000" in out and "since the processes started" in out


def test_a_target_that_is_not_prometheus_is_an_error_frame(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import HTMLResponse
    from starlette.routing import Route

    from tests.servers import serving

    async def page(request: Request) -> HTMLResponse:
        return HTMLResponse("<html><body>login</body></html>")

    with serving(Starlette(routes=[Route("/metrics", page)])) as url:
        assert main(["top", "--once", "--gateway", url]) == 1
    assert "did not answer Prometheus text" in capsys.readouterr().out

"""The operator run for real: kopf against kmock's API emulator, a real Redis with a real
Dramatiq broker (no worker consumes), and the real limiter service over HTTP.

Intervals are short (0.3 s) so each scenario takes seconds; they are still multi-second,
multi-component tests, hence ``slow``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from dramatiq.brokers.redis import RedisBroker

from agentqueue.core.base.ports import free_port
from agentqueue.core.base.priority import Priority
from agentqueue.core.queues.broker import make_broker, task_message
from agentqueue.core.queues.usage import record_usage
from bench.kube_harness import running_operator
from tests.operator.conftest import (
    BUDGET,
    DEPLOYMENTS,
    NS,
    agent_queue,
    apply,
    condition,
    events,
    eventually,
    obj,
    operator_settings,
    serve_limiter,
    status,
)

pytestmark = pytest.mark.slow

INTERVAL = 0.3
GENEROUS = {"anthropic:claude-sonnet-4-6": {"rpm": 100_000, "tpm": 10_000_000}}
#: 3,000 tokens/min: with 1,000 per replica and the standard queue's 10% reserve for
#: high (and the limiter's 2% margin), it feeds floor(3000 * 0.98 * 0.9 / 1000) = 2.
TINY = {"anthropic:claude-sonnet-4-6": {"rpm": 100_000, "tpm": 3_000}}


@pytest.fixture
def broker(redis_url: str) -> Iterator[RedisBroker]:
    b = make_broker(redis_url)
    yield b
    b.close()


def enqueue(broker: RedisBroker, n: int, *, delay_ms: int | None = None) -> None:
    for i in range(n):
        broker.enqueue(task_message(f"task-{i}", Priority.STANDARD), delay=delay_ms)


def replicas(kube: Any, name: str = "standard") -> int | None:
    dep = obj(kube, DEPLOYMENTS, f"{name}-worker")
    return None if dep is None else int(dep["spec"]["replicas"])


def reasons(kube: Any) -> list[str]:
    return [e["reason"] for e in events(kube)]


async def test_apply_creates_the_owned_worker_deployment(kube: Any, redis_url: str) -> None:
    with serve_limiter(redis_url, GENEROUS) as limiter:
        async with running_operator(operator_settings(redis_url, limiter)):
            await apply(kube, agent_queue(worker={"image": "w:1", "shutdownTimeoutSeconds": 20}))
            dep = await eventually(lambda: obj(kube, DEPLOYMENTS, "standard-worker"))
            await eventually(lambda: condition(kube, "Ready").get("status") == "True")
            await eventually(lambda: "Created" in reasons(kube))  # posted in the background

    assert dep["spec"]["replicas"] == 0  # empty queue, scale-to-zero
    labels = {
        "app.kubernetes.io/name": "agentqueue",
        "app.kubernetes.io/component": "worker",
        "agentqueue.io/queue": "standard",
    }
    assert labels.items() <= dep["metadata"]["labels"].items()
    assert dep["spec"]["selector"]["matchLabels"] == labels
    (owner,) = dep["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"]) == (
        "AgentQueue",
        "standard",
        "uid-standard",
    )
    assert owner["controller"] is True
    pod = dep["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] == 25  # shutdown timeout 20 + 5
    (container,) = pod["containers"]
    assert container["command"] == ["python", "-m", "agentqueue.worker"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["AGENTQUEUE_QUEUE"] == "standard"
    assert env["AGENTQUEUE_SHUTDOWN_TIMEOUT"] == "20"
    assert env["AGENTQUEUE_METRICS_PORT"] == "9100"
    assert env["AGENTQUEUE_METRICS_HOST"] == "0.0.0.0"
    assert container["securityContext"]["runAsUser"] == 10001
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert "Created" in reasons(kube)


async def test_a_burst_scales_up_within_one_interval_and_drains_after_the_window(
    kube: Any, redis_url: str, broker: RedisBroker
) -> None:
    window = 2
    spec = agent_queue(scaleDown={"stabilizationSeconds": window})
    with serve_limiter(redis_url, GENEROUS) as limiter:
        async with running_operator(operator_settings(redis_url, limiter)):
            await apply(kube, spec)
            await eventually(lambda: replicas(kube) == 0)

            enqueue(broker, 23)
            pushed = time.monotonic()
            await eventually(lambda: replicas(kube) == 5, timeout=5, every=0.02)
            took = time.monotonic() - pushed
            await eventually(lambda: status(kube).get("desiredReplicas") == 5)
            scaled_up = status(kube)

            # Workers drain the queue: consume and ack every message (real Dramatiq).
            consumer = broker.consume("standard", prefetch=30, timeout=100)
            for _ in range(23):
                consumer.ack(next(consumer))
            consumer.close()
            drained = time.monotonic()
            await eventually(
                lambda: condition(kube, "Scaling").get("reason") == "ScaleDownStabilizing"
            )
            assert replicas(kube) == 5  # held by the window
            await eventually(lambda: replicas(kube) == 0, timeout=window + 3)
            held_for = time.monotonic() - drained
            await eventually(lambda: "ScaledDown" in reasons(kube))  # posted in the background

    assert took <= INTERVAL + 0.5, f"scale-up took {took:.2f}s with a {INTERVAL}s interval"
    assert window - INTERVAL <= held_for <= window + 2 * INTERVAL + 0.5
    assert scaled_up["depth"] == {"ready": 23, "inFlight": 0, "delayed": 0, "dead": 0}
    assert "depth 23 / target 5 -> 5" in scaled_up["lastScaleReason"]
    by_reason = {e["reason"]: e["message"] for e in events(kube)}
    assert "0 -> 5: demand 5" in by_reason["ScaledUp"]
    assert by_reason["ScaledDown"].startswith("5 -> 0")
    assert status(kube)["depth"]["ready"] == 0


async def test_an_exhausted_budget_caps_the_scale_up(
    kube: Any, redis_url: str, broker: RedisBroker
) -> None:
    with serve_limiter(redis_url, TINY) as limiter:
        async with running_operator(operator_settings(redis_url, limiter)):
            enqueue(broker, 50)  # demand: 50 / 5 = 10 replicas
            await apply(kube, agent_queue())
            await eventually(lambda: condition(kube, "BudgetLimited").get("status") == "True")
            await asyncio.sleep(3 * INTERVAL)  # and it stays there
            final = status(kube)

    assert replicas(kube) == 2
    assert final["desiredReplicas"] == 2
    assert final["headroom"]["budgetCapReplicas"] == 2
    assert final["headroom"]["sustainableTpm"] == 2940  # 3,000 less the 2% margin
    assert final["headroom"]["queueShareTpm"] == 2646  # less standard's 10% reserve
    limited = condition(kube, "BudgetLimited")
    assert limited["reason"] == "BudgetCap" and "demand is 10" in limited["message"]
    created = next(e for e in events(kube) if e["reason"] == "Created")
    assert "capped by budget at 2 (demand 10)" in created["message"]


async def test_delayed_messages_keep_one_replica(
    kube: Any, redis_url: str, broker: RedisBroker
) -> None:
    with serve_limiter(redis_url, GENEROUS) as limiter:
        async with running_operator(operator_settings(redis_url, limiter)):
            await apply(kube, agent_queue())
            await eventually(lambda: replicas(kube) == 0)
            enqueue(broker, 3, delay_ms=60_000)  # retries waiting out their backoff
            await eventually(lambda: replicas(kube) == 1, timeout=3)
            await asyncio.sleep(3 * INTERVAL)
            kept = replicas(kube)
            final = status(kube)

    assert kept == 1
    assert final["depth"]["delayed"] == 3
    assert "3 delayed message(s) or retries wait" in final["lastScaleReason"]


async def test_an_unreachable_limiter_holds_the_cap_and_says_so(
    kube: Any, redis_url: str, broker: RedisBroker
) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    async with running_operator(operator_settings(redis_url, closed)):
        await apply(kube, agent_queue())
        await eventually(lambda: replicas(kube) == 0)
        enqueue(broker, 50)
        await eventually(lambda: replicas(kube) == 1, timeout=3)
        await asyncio.sleep(3 * INTERVAL)
        kept = replicas(kube)
        final = status(kube)

    assert kept == 1  # not the 10 the depth asks for: one worker so the queue moves
    assert final["headroom"]["limiterReachable"] is False
    limited = condition(kube, "BudgetLimited")
    assert (limited["status"], limited["reason"]) == ("True", "LimiterUnreachable")
    assert "held" in limited["message"]
    warnings = [e for e in events(kube) if e["type"] == "Warning"]
    assert [w["reason"] for w in warnings] == ["LimiterUnreachable"]  # once, not every tick


async def test_tokens_per_replica_are_learned_from_the_workers_counters(
    kube: Any, redis_url: str, broker: RedisBroker, aredis: aioredis.Redis
) -> None:
    """Workers' counters (1 s buckets here) teach the tokens/min one replica uses."""
    settings = operator_settings(
        redis_url, None, operator_usage_bucket_seconds=1, operator_learning_alpha=1.0
    )
    spec = agent_queue(tokensPerMinutePerReplica=0, budgets=[])
    enqueue(broker, 20)  # 4 replicas, all busy (messages stay ready)

    async def workers() -> None:  # 4 replicas x 50 tokens every 0.1 s = 500 tokens/s each
        while True:
            await record_usage(aredis, "standard", tokens=200, messages=1, bucket_seconds=1)
            await asyncio.sleep(0.1)

    async with running_operator(settings):
        await apply(kube, spec)
        await eventually(lambda: replicas(kube) == 4)
        writer = asyncio.create_task(workers())
        try:
            await eventually(lambda: status(kube).get("learnedMinutes", 0) >= 2, timeout=8)
        finally:
            writer.cancel()
        final = status(kube)

    assert final["tokensPerMinutePerReplica"] == pytest.approx(30_000, rel=0.2)
    assert final["messagesPerSecondPerReplica"] == pytest.approx(10 / 4, rel=0.2)


def test_budget_name_is_the_limiters() -> None:
    assert BUDGET == "anthropic:claude-sonnet-4-6:default"


async def test_a_spec_change_rolls_the_template_and_keeps_the_replicas(
    kube: Any, redis_url: str, broker: RedisBroker
) -> None:
    worker = {"image": "w:1", "resources": {"limits": {"memory": "1Gi"}}}
    async with running_operator(operator_settings(redis_url, None)):
        await apply(kube, agent_queue(worker=worker, budgets=[]))
        enqueue(broker, 7)
        await eventually(lambda: replicas(kube) == 2)
        url = f"/apis/agentqueue.io/v1alpha1/namespaces/{NS}/agentqueues/standard"
        async with httpx.AsyncClient(base_url=str(kube.url)) as client:
            change = {"spec": {"worker": {"image": "w:2", "resources": None}}}
            headers = {"Content-Type": "application/merge-patch+json"}
            (await client.patch(url, json=change, headers=headers)).raise_for_status()

        def image() -> str:
            dep = obj(kube, DEPLOYMENTS, "standard-worker") or {}
            (container,) = dep["spec"]["template"]["spec"]["containers"]
            return str(container["image"])

        await eventually(lambda: image() == "w:2")
        await eventually(lambda: "Updated" in reasons(kube))  # Events are posted in the background
        dep = obj(kube, DEPLOYMENTS, "standard-worker")

    assert dep is not None and dep["spec"]["replicas"] == 2
    (container,) = dep["spec"]["template"]["spec"]["containers"]
    assert "resources" not in container  # removed from the spec, removed from the pods
    assert "Updated" in reasons(kube)


async def test_an_unreachable_redis_holds_the_replicas_and_says_so(kube: Any) -> None:
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"
    async with running_operator(operator_settings(dead_redis, None)):
        await apply(kube, agent_queue(budgets=[]))
        ready = await eventually(lambda: condition(kube, "Ready").get("status") == "False")
        await asyncio.sleep(5 * INTERVAL)  # more reconciles, still Redis-less
        final = condition(kube, "Ready")

    assert ready and final["reason"] == "RedisUnavailable"
    assert "queue depth unreadable" in final["message"]
    assert "no worker Deployment yet" in final["message"]
    assert obj(kube, DEPLOYMENTS, "standard-worker") is None  # nothing decided blind
    assert reasons(kube).count("RedisUnavailable") == 1  # once, not every interval

"""Two operator replicas, one peering: the higher priority acts, the other takes over when
it goes (kopf peering through a KopfPeering object in the emulator)."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from typing import Any

import kmock
import kopf
import pytest
from dramatiq.brokers.redis import RedisBroker

from agentqueue.core.base.priority import Priority
from agentqueue.core.queues.broker import make_broker, task_message
from agentqueue.operator.runner import run_operator
from tests.operator.conftest import (
    DEPLOYMENTS,
    NS,
    agent_queue,
    apply,
    eventually,
    obj,
    operator_settings,
)

pytestmark = pytest.mark.slow

PEERINGS = "kopf.dev/v1/kopfpeerings"


@pytest.fixture
def broker(redis_url: str) -> Iterator[RedisBroker]:
    b = make_broker(redis_url)
    yield b
    b.close()


def _tune(kopf_settings: kopf.OperatorSettings) -> None:
    kopf_settings.scanning.disabled = True
    kopf_settings.peering.lifetime = 2  # seconds a silent peer is still believed alive


async def test_one_replica_acts_and_the_other_takes_over(
    kube: Any, redis_url: str, broker: RedisBroker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="kopf")
    kube.resources[PEERINGS] = kmock.ResourceInfo(
        kind="KopfPeering", singular="kopfpeering", namespaced=True,
        verbs=["get", "list", "watch", "patch", "update", "create"],
    )  # fmt: skip
    kube.objects[PEERINGS, NS, "agentqueue"] = {
        "apiVersion": "kopf.dev/v1",
        "kind": "KopfPeering",
        "metadata": {"name": "agentqueue", "namespace": NS, "resourceVersion": "1"},
    }
    settings = operator_settings(redis_url, None, operator_standalone=False, budgets={})

    def start(name: str, priority: int) -> tuple[threading.Event, threading.Thread]:
        """A replica in its own thread and event loop, as in its own pod.

        (Two kopf operators in one event loop do not mix: stopping one cancels the
        tasks the other started after it.)
        """
        stop = threading.Event()
        ours = settings.model_copy(update={"operator_priority": priority})
        run = run_operator(ours, stop_flag=stop, tune=_tune, identity=name)
        thread = threading.Thread(target=asyncio.run, args=(run,), name=name, daemon=True)
        thread.start()
        return stop, thread

    def peering() -> set[str]:
        return set((obj(kube, PEERINGS, "agentqueue") or {}).get("status") or {})

    def replicas() -> int:
        return int(
            (obj(kube, DEPLOYMENTS, "standard-worker") or {}).get("spec", {}).get("replicas", -1)
        )

    # One after the other, as a rollout starts them. (Started at the same instant, both
    # may act for a moment until each has seen the other: kopf's peering is eventual.)
    # A replica joining a peering starts paused and resumes only if it is the highest.
    def active() -> int:
        """Replicas that let their AgentQueue watch run (kopf says so when it does)."""
        return sum(
            "Resuming the watch-stream for agentqueues" in r.getMessage() for r in caplog.records
        )

    stop_a, thread_a = start("replica-a", 20)
    await eventually(lambda: active() == 1)
    stop_b, thread_b = start("replica-b", 10)
    try:
        await eventually(lambda: "replica-b" in peering())
        await apply(kube, agent_queue(budgets=[]))
        await eventually(lambda: obj(kube, DEPLOYMENTS, "standard-worker"))
        broker.enqueue(task_message("t1", Priority.STANDARD))
        await eventually(lambda: replicas() == 1)
        await asyncio.sleep(1)
        peers = peering()
        active_while_both_ran = active()

        stop_a.set()  # the active replica goes away
        await asyncio.to_thread(thread_a.join, 20)
        for i in range(20):  # 21 messages: 5 replicas at 5 per replica
            broker.enqueue(task_message(f"t{i + 2}", Priority.STANDARD))
        await eventually(lambda: replicas() == 5, timeout=10)  # only B is left to do it
        active_after = active()
    finally:
        stop_a.set()
        stop_b.set()
        await asyncio.to_thread(thread_a.join, 20)
        await asyncio.to_thread(thread_b.join, 20)
    assert not thread_a.is_alive() and not thread_b.is_alive()

    assert {"replica-a", "replica-b"} <= peers
    assert active_while_both_ran == 1  # B, the lower priority, kept its watch paused
    assert active_after == 2  # until A was gone

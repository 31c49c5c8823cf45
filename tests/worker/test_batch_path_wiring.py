"""The batch path is off unless a queue asks: the runner without a collector runs a
``batch_api`` task online; the operator passes ``batchApi`` as ``AGENTQUEUE_BATCH_API``;
the worker's settings become the processor's policy."""

from __future__ import annotations

from typing import Any

from agentqueue.core.llm.messages import ChatMessage, CompletionRequest
from agentqueue.core.tasks.model import TaskRecord, TaskSpec, TaskState
from agentqueue.core.tasks.store import TaskStore, batch_owner_key
from agentqueue.operator.deployment import pod_template
from agentqueue.operator.spec import AgentQueueSpec
from agentqueue.worker.batches import batch_policy
from agentqueue.worker.runner import TaskRunner
from agentqueue.worker.settings import WorkerSettings


async def test_without_the_batch_path_a_batch_api_task_runs_online(
    runner: TaskRunner, store: TaskStore
) -> None:
    spec = TaskSpec(
        input=CompletionRequest(messages=[ChatMessage(role="user", content="hi")]),
        batch_api=True,
    )
    record, _ = await store.create(TaskRecord(tenant="t", spec=spec))
    await runner.run(record.id, retries_done=0, retries_left=1)
    done = await store.get(record.id)
    assert done.state is TaskState.SUCCEEDED
    assert not await store.redis.exists(batch_owner_key(record.id))


def _env(spec: dict[str, Any]) -> dict[str, str]:
    template = pod_template("q", AgentQueueSpec.of(spec))
    [container] = template["spec"]["containers"]
    return {e["name"]: e.get("value", "") for e in container["env"]}


def test_the_operator_passes_batch_api_to_the_workers() -> None:
    base = {"queue": "batch", "worker": {"image": "w"}}
    assert "AGENTQUEUE_BATCH_API" not in _env(base)
    assert _env({**base, "batchApi": True})["AGENTQUEUE_BATCH_API"] == "true"


def test_worker_settings_make_the_policy() -> None:
    settings = WorkerSettings(
        batch_api=True,
        batch_max_requests=10,
        batch_max_age=5,
        batch_retry_online=True,
        batch_enqueued_tokens={"openai": 1000},
    )
    policy = batch_policy(settings)
    assert (policy.max_requests, policy.max_age, policy.retry_online) == (10, 5, True)
    assert policy.enqueued_tokens == {"openai": 1000}


def test_a_task_a_batch_finished_is_counted_like_one_run_online() -> None:
    """The dashboard's throughput and the dead-letter alert read the same counters for
    tasks finished by a provider batch."""
    from prometheus_client import REGISTRY

    from agentqueue.worker.batches import count_finished
    from agentqueue.worker.metrics import kind_label

    labels = {"priority": "batch", "kind": kind_label("completion"), "status": "succeeded"}

    def finished() -> float:
        return REGISTRY.get_sample_value("agentqueue_tasks_finished_total", labels) or 0.0

    spec = TaskSpec(
        priority="batch",
        input=CompletionRequest(messages=[ChatMessage(role="user", content="hi")]),
        batch_api=True,
    )
    record = TaskRecord(tenant="t", spec=spec, state=TaskState.SUCCEEDED)
    before = finished()
    count_finished(record)
    assert finished() == before + 1

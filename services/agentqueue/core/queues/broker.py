"""The Dramatiq broker both sides of a queue agree on.

The gateway only enqueues and the worker only consumes, and they must never import each
other: what they share — queue names, the actor's name, broker options — lives here.
One Dramatiq queue per priority, because priority inside one Dramatiq queue only
reorders a worker's prefetch; real priority needs separate queues (and Deployments).
"""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import AsyncIO, CurrentMessage

from agentqueue.core.base.priority import Priority

#: The actor every task message is addressed to; its only argument is the task id.
RUN_TASK_ACTOR = "run_task"

#: The actor that POSTs a finished task to its webhook URL (on the task's own queue).
WEBHOOK_ACTOR = "deliver_webhook"

#: Redis key namespace of the broker (Dramatiq's default, which the operator reads).
NAMESPACE = "dramatiq"


def queue_name(priority: Priority) -> str:
    return priority.value


def make_broker(
    redis_url: str,
    *,
    heartbeat_timeout_ms: int = 60_000,
    maintenance_chance: int = 1000,
) -> RedisBroker:
    """A Redis broker with the middleware our actors rely on.

    ``heartbeat_timeout_ms`` bounds how long a dead worker's unacked messages wait before
    they are redelivered; ``maintenance_chance`` (out of 1,000,000 broker commands) how
    often that sweep runs. Tests shorten both.
    """
    broker = RedisBroker(
        url=redis_url,
        namespace=NAMESPACE,
        heartbeat_timeout=heartbeat_timeout_ms,
        maintenance_chance=maintenance_chance,
        socket_timeout=10,
        socket_connect_timeout=5,
    )
    broker.add_middleware(AsyncIO())
    broker.add_middleware(CurrentMessage())
    for priority in Priority:
        broker.declare_queue(queue_name(priority))
    return broker


def task_message(task_id: str, priority: Priority) -> dramatiq.Message[None]:
    """The message that asks a worker on ``priority``'s queue to run ``task_id``."""
    return dramatiq.Message(
        queue_name=queue_name(priority),
        actor_name=RUN_TASK_ACTOR,
        args=(task_id,),
        kwargs={},
        options={},
    )


def webhook_message(task_id: str, priority: Priority) -> dramatiq.Message[None]:
    """The message that asks a worker on ``priority``'s queue to deliver the webhook."""
    return dramatiq.Message(
        queue_name=queue_name(priority),
        actor_name=WEBHOOK_ACTOR,
        args=(task_id,),
        kwargs={},
        options={},
    )

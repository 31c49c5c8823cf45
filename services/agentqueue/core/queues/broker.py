"""The Dramatiq broker both sides of a queue agree on.

The gateway only enqueues and the worker only consumes, and they must never import each
other: what they share — queue names, the actor's name, broker options — lives here.
One Dramatiq queue per priority, because priority inside one Dramatiq queue only
reorders a worker's prefetch; real priority needs separate queues (and Deployments).

**The message marker.** Every message of ``run_task`` that exists in Redis is named by
the task's entry in the hash ``aq:msg`` (task id → ``<queue>|<redis message id>``), so
that the reconciler (``core/tasks/reconciler.py``) can tell a task whose message is
alive from one whose message was lost. The acceptance script writes the first message
and its marker together (``core/tasks/accept.lua``); every later enqueue through this
broker — a retry on ``<queue>.DQ``, the move of a delayed message back to ``<queue>``,
the reconciler's own — writes the message and moves the marker in one script:
Dramatiq's ``dispatch.lua`` with ``marker.lua`` appended. Webhook messages have none.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import dramatiq
import redis
from dramatiq.brokers import redis as dramatiq_redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.common import current_millis
from dramatiq.middleware import AsyncIO, CurrentMessage

from agentqueue.core.base.ids import random_id, random_uuid
from agentqueue.core.base.priority import Priority
from agentqueue.core.base.redisconn import RedisSource, sync_redis

#: The actor every task message is addressed to; its only argument is the task id.
RUN_TASK_ACTOR = "run_task"

#: The actor that POSTs a finished task to its webhook URL (on the task's own queue).
WEBHOOK_ACTOR = "deliver_webhook"

#: Redis key namespace of the broker (Dramatiq's default, which the operator reads).
NAMESPACE = "dramatiq"

#: Task id → ``<queue>|<redis message id>`` of the task's one live message.
MARKER_KEY = "aq:msg"

_MARKED_DISPATCH = (
    dramatiq_redis._scripts["dispatch"].decode()
    + "\n"
    + resources.files("agentqueue.core.queues").joinpath("marker.lua").read_text()
)


def queue_name(priority: Priority) -> str:
    return priority.value


def messages_key(namespace: str, queue: str) -> str:
    """The hash of a queue's messages (redis message id → encoded message)."""
    return f"{namespace}:{queue}.msgs"


def queue_key(namespace: str, queue: str) -> str:
    """The list of a queue's ready message ids."""
    return f"{namespace}:{queue}"


class TaskBroker(RedisBroker):
    """Dramatiq's Redis broker, whose enqueue of a ``run_task`` message also moves the
    task's marker (see the module docstring); everything else is Dramatiq's."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._marked = self.client.register_script(_MARKED_DISPATCH)

    def do_enqueue(self, queue: str, message_id: str, data: bytes) -> Any:
        task_id = _task_id(data)
        if task_id is None:
            return self._dispatch("enqueue")(queue, message_id, data)
        args = [
            "enqueue",
            current_millis(),
            queue,
            self.broker_id,
            self.heartbeat_timeout,
            self.dead_message_ttl,
            self._should_do_maintenance("enqueue"),
            self._max_unpack_size(),
            message_id,
            data,
            task_id,
        ]
        return self._marked(keys=[self.namespace, MARKER_KEY], args=args)


def _task_id(data: bytes) -> str | None:
    """The task id of a ``run_task`` message; None for any other actor's."""
    message = dramatiq.Message.decode(data)
    if message.actor_name != RUN_TASK_ACTOR or not message.args:
        return None
    return str(message.args[0])


def make_broker(
    source: str | RedisSource,
    *,
    heartbeat_timeout_ms: int = 60_000,
    maintenance_chance: int = 1000,
) -> TaskBroker:
    """A Redis broker with the middleware our actors rely on.

    ``source`` is the Redis URL or the process's settings (then Sentinel and the retry
    window apply, see ``core/base/redisconn.py``). ``heartbeat_timeout_ms`` bounds how
    long a dead worker's unacked messages wait before they are redelivered;
    ``maintenance_chance`` (out of 1,000,000 broker commands) how often that sweep
    runs. Tests shorten both.
    """
    client: redis.Redis = sync_redis(source, socket_timeout=10, socket_connect_timeout=5)
    broker = TaskBroker(
        client=client,
        namespace=NAMESPACE,
        heartbeat_timeout=heartbeat_timeout_ms,
        maintenance_chance=maintenance_chance,
    )
    broker.add_middleware(AsyncIO())
    broker.add_middleware(CurrentMessage())
    for priority in Priority:
        broker.declare_queue(queue_name(priority))
    return broker


def _message(actor: str, task_id: str, priority: Priority) -> dramatiq.Message[None]:
    return dramatiq.Message(
        queue_name=queue_name(priority),
        actor_name=actor,
        args=(task_id,),
        kwargs={},
        options={},
        message_id=random_uuid(),  # Dramatiq's own is a uuid4: a system call each
    )


def task_message(task_id: str, priority: Priority) -> dramatiq.Message[None]:
    """The message that asks a worker on ``priority``'s queue to run ``task_id``."""
    return _message(RUN_TASK_ACTOR, task_id, priority)


def stamped(message: dramatiq.Message[Any]) -> dramatiq.Message[Any]:
    """``message`` with its own Redis message id, as ``RedisBroker.enqueue`` gives it, for
    the scripts that write a message themselves (acceptance, reconciler)."""
    return message.copy(options={"redis_message_id": random_id()})


def webhook_message(task_id: str, priority: Priority) -> dramatiq.Message[None]:
    """The message that asks a worker on ``priority``'s queue to deliver the webhook."""
    return _message(WEBHOOK_ACTOR, task_id, priority)

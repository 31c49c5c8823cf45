"""Hand a reconcile's outcome to the API server: the status patch and the Events.

The status is patched here, on the operator's own client, not through kopf's ``patch``.
kopf (1.45) applies a timer's ``patch`` after every attempt, even a failed one; but when
the API refuses that write (RBAC on ``agentqueues/status``, a 5xx, an unreachable API
server), kopf retries it for about a minute (``networking.error_backoffs``) while the
timer waits, no reconcile running, and then lets the error escape the timer loop: the
timer ends and kopf never restarts it, so the AgentQueue is not reconciled again until
the operator restarts. A refused status write must cost one status, not the autoscaler:
here it is logged, and the next interval writes a fresher one.

Events go through kopf's poster, which posts in the background and logs its own
failures; enqueueing one is guarded all the same, since a report must never raise.
"""

from __future__ import annotations

import logging
from typing import Any

import kopf

from agentqueue.operator.kube import KubeApiError, Resource
from agentqueue.operator.reconcile import Outcome

#: kopf cuts longer Event messages in the middle; ours keep their head (the reason).
MAX_EVENT_MESSAGE = 1000

Logger = logging.Logger | logging.LoggerAdapter[Any]


async def report(
    agentqueues: Resource,
    body: kopf.Body,
    outcome: Outcome,
    logger: Logger,
) -> None:
    """Post the Events and write the status; a refusal is logged, never raised.

    Events first: enqueueing them is instant, and kopf's poster sends them while the
    status write is on its way, so both land about together.
    """
    for event in outcome.events:
        try:
            kopf.event(
                body,
                type=event.type,
                reason=event.reason,
                message=event.message[:MAX_EVENT_MESSAGE],
            )
        except Exception:  # kopf's queue, not the API; still, the loop must go on
            logger.exception("event %s not posted", event.reason)
        logger.info("%s: %s", event.reason, event.message)
    namespace, name = body.metadata.namespace, body.metadata.name
    if outcome.status and namespace and name:
        try:
            await agentqueues.patch_status(namespace, name, outcome.status)
        except KubeApiError as exc:
            if exc.status == 404:  # deleted meanwhile: nothing left to report on
                logger.debug("status not written: %s", exc)
            else:
                logger.warning("status not written, the next interval writes it: %s", exc)
        except Exception:  # a client closed by a re-login, say: the loop must go on
            logger.exception("status not written, the next interval writes it")

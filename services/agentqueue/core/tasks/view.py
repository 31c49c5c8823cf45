"""A task as its owner sees it: one shape for the API and for the completion webhook.

``GET /v1/tasks/{id}`` returns it, and the worker POSTs it to the task's webhook URL, so
a receiver parses the same document it would get by polling. It lives in core because
both the gateway and the worker produce it (and services never import each other).
"""

from __future__ import annotations

from pydantic import BaseModel

from agentqueue.core.base.priority import Priority
from agentqueue.core.llm.call_result import Attempt
from agentqueue.core.llm.messages import Usage
from agentqueue.core.llm.routing import RouteDecision
from agentqueue.core.tasks.model import (
    CallRecord,
    TaskError,
    TaskRecord,
    TaskResult,
    TaskState,
    WebhookAttempt,
    WebhookState,
)


class CallView(BaseModel):
    """One LLM call a task made: who answered, tokens, cost, and every attempt."""

    provider: str
    model: str
    usage: Usage
    cost_usd: float
    latency_s: float
    attempts: list[Attempt]
    #: The agent step that made the call (``map:2``, ``reduce``, ``compact``…).
    step: str | None = None
    #: How the call's tier was chosen (``auto`` routing records its rule).
    route: RouteDecision | None = None
    #: The catalog's price date the cost was computed with.
    prices_as_of: str | None = None
    #: "exact" or "semantic" when our cache answered; ``saved_usd`` is what it saved.
    cached: str | None = None
    saved_usd: float = 0.0

    @classmethod
    def of(cls, c: CallRecord) -> CallView:
        return cls(
            provider=c.provider,
            model=c.model,
            usage=c.usage,
            cost_usd=float(c.cost_usd),
            latency_s=c.latency_s,
            attempts=c.attempts,
            step=c.step,
            route=c.route,
            prices_as_of=c.prices_as_of,
            cached=c.cached,
            saved_usd=float(c.saved_usd),
        )


class WebhookView(BaseModel):
    """Where the completion webhook goes and what each delivery attempt got back."""

    url: str
    state: WebhookState
    attempts: list[WebhookAttempt]


class TaskView(BaseModel):
    """A task as its owner sees it."""

    id: str
    status: TaskState
    kind: str
    priority: Priority
    created_at: float
    started_at: float | None
    finished_at: float | None
    attempts: int
    result: TaskResult | None
    error: TaskError | None
    last_error: TaskError | None
    usage: Usage
    cost_usd: float
    calls: list[CallView]
    metadata: dict[str, str]
    webhook: WebhookView | None = None

    @classmethod
    def of(cls, r: TaskRecord) -> TaskView:
        webhook = None
        if r.spec.webhook_url and r.webhook is not None:
            webhook = WebhookView(
                url=r.spec.webhook_url, state=r.webhook.state, attempts=r.webhook.attempts
            )
        return cls(
            id=r.id,
            status=r.state,
            kind=r.spec.kind,
            priority=r.spec.priority,
            created_at=r.created_at,
            started_at=r.started_at,
            finished_at=r.finished_at,
            attempts=r.attempts,
            result=r.result,
            error=r.error,
            last_error=r.last_error,
            usage=r.usage,
            cost_usd=float(r.cost_usd),
            calls=[CallView.of(c) for c in r.calls],
            metadata=r.spec.metadata,
            webhook=webhook,
        )

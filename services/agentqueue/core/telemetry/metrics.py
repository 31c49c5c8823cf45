"""The Prometheus families dashboards and alerts read, defined once for every service.

Why one module: the gateway, the workers and the limiter all make LLM calls or hold
budgets, and a family defined twice with different labels breaks a scrape. The names and
labels here are a contract (``docs/observability.md``; the Helm chart's dashboard and
alert rules use exactly these).

Conventions (Prometheus'): base units (seconds, USD), ``_total`` counters, bounded
labels, no ``_created`` series (they showed up as separate gauge families and double
every counter's series), and counters at zero for label sets known up front, so that a
``rate()`` starts from the first scrape. A tenant keeps its name only when the settings
name it (``tenant_quotas``): any other tenant is ``other``, so a client cannot grow the
series count by inventing tenants.

Gauges say how they combine across processes in multiprocess mode
(``PROMETHEUS_MULTIPROC_DIR``, see :mod:`agentqueue.core.telemetry.multiproc`).
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

disable_created_metrics()  # type: ignore[no-untyped-call]

#: The tenant label of every tenant the settings do not name.
OTHER_TENANT = "other"
#: Budget names of tenants' per-minute quotas start with this (core.ratelimit.quotas).
TENANT_BUDGET_PREFIX = "tenant:"
#: The deployment of budgets named ``provider:model`` (core.settings.budget_limits).
DEFAULT_DEPLOYMENT = "default"

#: ``outcome`` of an LLM call attempt, by error class name (others: ``other``).
OUTCOMES = (
    "ok",
    "rate_limited",
    "overloaded",
    "server_error",
    "timeout",
    "auth",
    "bad_request",
    "circuit_open",
    "other",
)
_OUTCOME_OF_ERROR = {
    "RateLimited": "rate_limited",
    "Overloaded": "overloaded",
    "ProviderServerError": "server_error",
    "ProviderTimeout": "timeout",
    "ProviderAuthError": "auth",
    "BadRequest": "bad_request",
    "ContextTooLong": "bad_request",
    "CircuitOpen": "circuit_open",
}
#: ``type`` of tokens.
TOKEN_TYPES = ("input", "output", "cache_read", "cache_write")

_known_tenants: frozenset[str] = frozenset()


def set_known_tenants(tenants: Iterable[str]) -> None:
    """The tenants that keep their name as a label (``*``, the default quota, is none)."""
    global _known_tenants
    _known_tenants = frozenset(t for t in tenants if t and t != "*")


def tenant_label(tenant: str | None) -> str:
    """``tenant`` if the settings name it, else ``other`` (bounded cardinality)."""
    return tenant if tenant is not None and tenant in _known_tenants else OTHER_TENANT


def outcome_of(error: BaseException | str | None) -> str:
    """The ``outcome`` label of an attempt: ``ok`` without error, else by its class."""
    if error is None:
        return "ok"
    name = error if isinstance(error, str) else type(error).__name__
    return _OUTCOME_OF_ERROR.get(name, "other")


def split_budget(name: str) -> tuple[str, str, str] | None:
    """``provider:model:deployment`` → its three parts; None for a tenant quota budget.

    A model id may itself hold colons (Bedrock's ``…-v1:0``): the provider is before the
    first colon and, with three parts or more, the deployment after the last.
    ``provider:model`` has the ``default`` deployment, as in the settings.
    """
    if name.startswith(TENANT_BUDGET_PREFIX):
        return None
    provider, _, rest = name.partition(":")
    if rest.count(":") >= 1:
        model, _, deployment = rest.rpartition(":")
    else:
        model, deployment = rest, DEFAULT_DEPLOYMENT
    return provider, model, deployment


def quota_tenant(name: str) -> str | None:
    """The tenant of a quota budget name (``tenant:<id>``), None for a provider budget."""
    if not name.startswith(TENANT_BUDGET_PREFIX):
        return None
    return name.removeprefix(TENANT_BUDGET_PREFIX)


_MODEL = ["provider", "model", "deployment"]

# LLM calls: recorded by the fallback chain (core/calls/fallback.py), gateway and workers.
LLM_TOKENS = Counter(
    "agentqueue_llm_tokens",
    "Tokens of answered LLM calls, by type: input, output, cache_read, cache_write",
    [*_MODEL, "priority", "tenant", "type"],
)
LLM_COST = Counter(
    "agentqueue_llm_cost_usd",
    "Cost of answered LLM calls, USD (catalog prices)",
    [*_MODEL, "priority", "tenant"],
)
LLM_CALLS = Counter(
    "agentqueue_llm_calls",
    "LLM call attempts by outcome (ok, rate_limited, overloaded, server_error, timeout, "
    "auth, bad_request, circuit_open, other)",
    [*_MODEL, "outcome"],
)
LLM_CALL_DURATION = Histogram(
    "agentqueue_llm_call_duration_seconds",
    "Duration of LLM call attempts, from the request sent (after any wait for its "
    "budget) to the whole answer or the error",
    _MODEL,
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300),
)
LLM_TTFT = Histogram(
    "agentqueue_llm_time_to_first_token_seconds",
    "Time from a streamed call's start to its first piece of text",
    _MODEL,
    buckets=(0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30),
)
EVENT_LOOP_LAG = Histogram(
    "agentqueue_event_loop_lag_seconds",
    "How late a service's event loop ran a timer: how long a request may wait to be "
    "looked at (core/telemetry/loop_watch.py)",
    ["service"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
LLM_FALLBACKS = Counter(
    "agentqueue_llm_fallbacks",
    "Failed attempts that another attempt followed, by the deployment that failed",
    ["provider", "deployment"],
)
BREAKER_STATE = Gauge(
    "agentqueue_breaker_state",
    "Circuit breaker per deployment: 0 closed, 1 half-open, 2 open (worst process)",
    ["deployment"],
    multiprocess_mode="livemax",
)
BREAKER_OPENED = Counter(
    "agentqueue_breaker_opened", "Times a deployment's breaker opened", ["deployment"]
)

# Tasks: recorded by the workers (worker/actors.py, worker/runner.py).
TASK_QUEUE_WAIT = Histogram(
    "agentqueue_task_queue_wait_seconds",
    "Time a task's message waited in its queue before a worker started it (a retry: "
    "from when it was due)",
    ["priority"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600),
)
TASK_RUN = Histogram(
    "agentqueue_task_run_seconds",
    "Time one run of a task took in its worker, by agent kind",
    ["priority", "kind"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 1800),
)
TASKS_FINISHED = Counter(
    "agentqueue_tasks_finished",
    "Task runs that ended the task, by status: succeeded, failed, cancelled",
    ["priority", "kind", "status"],
)
TASK_RETRIES = Counter(
    "agentqueue_task_retries", "Tasks requeued after a transient failure", ["priority"]
)
DEAD_LETTERS = Counter(
    "agentqueue_dead_letters", "Tasks failed for good and dead-lettered", ["priority"]
)

# Budgets: levels published by the limiter service (limiter/metrics.py), one process.
BUDGET_AVAILABLE_TOKENS = Gauge(
    "agentqueue_budget_available_tokens",
    "Tokens a call could take from the budget now",
    _MODEL,
    multiprocess_mode="livemostrecent",
)
BUDGET_AVAILABLE_REQUESTS = Gauge(
    "agentqueue_budget_available_requests",
    "Requests a call could take from the budget now",
    _MODEL,
    multiprocess_mode="livemostrecent",
)
BUDGET_CAPACITY_TOKENS = Gauge(
    "agentqueue_budget_capacity_tokens",
    "Tokens per minute the budget refills (its sustainable rate)",
    _MODEL,
    multiprocess_mode="livemostrecent",
)
BUDGET_CAPACITY_REQUESTS = Gauge(
    "agentqueue_budget_capacity_requests",
    "Requests per minute the budget refills (its sustainable rate)",
    _MODEL,
    multiprocess_mode="livemostrecent",
)
TENANT_QUOTA_AVAILABLE_TOKENS = Gauge(
    "agentqueue_tenant_quota_available_tokens",
    "Tokens a tenant's per-minute quota could give a call now",
    ["tenant"],
    multiprocess_mode="livemostrecent",
)
TENANT_QUOTA_AVAILABLE_REQUESTS = Gauge(
    "agentqueue_tenant_quota_available_requests",
    "Requests a tenant's per-minute quota could give a call now",
    ["tenant"],
    multiprocess_mode="livemostrecent",
)
TENANT_QUOTA_USD_PER_DAY = Gauge(
    "agentqueue_tenant_quota_usd_per_day",
    "A named tenant's daily spend quota, USD (the limiter's settings; absent: none)",
    ["tenant"],
    multiprocess_mode="livemostrecent",
)
# Recorded by the budget gate in the calling processes (core/ratelimit/gate.py).
LIMITER_DENIALS = Counter(
    "agentqueue_limiter_denials",
    "Calls refused before anything was sent, by reason: budget (no turn within the "
    "wait), quota_tpm, quota_rpm, usd_per_day (the tenant's quota)",
    [*_MODEL, "reason"],
)
PROVIDER_429S = Counter(
    "agentqueue_provider_429s",
    "Provider 429s seen despite the budget",
    _MODEL,
)
DENIAL_REASONS = ("budget", "quota_tpm", "quota_rpm", "usd_per_day")


def budget_labels(name: str) -> tuple[str, str, str]:
    """:func:`split_budget` for a name known to be a provider budget."""
    parts = split_budget(name)
    return parts if parts is not None else ("tenant", name.removeprefix("tenant:"), "")


def init_deployment(provider: str, model: str, deployment: str) -> None:
    """Counters of one deployment and model at zero (cheap: a few children), so that
    dashboards and ``rate()`` see them before the first call or failure."""
    for outcome in OUTCOMES:
        LLM_CALLS.labels(provider, model, deployment, outcome)
    LLM_FALLBACKS.labels(provider, deployment)
    PROVIDER_429S.labels(provider, model, deployment)
    LLM_CALL_DURATION.labels(provider, model, deployment)


def init_budget(name: str) -> None:
    """Counters of a configured provider budget at zero: its denials by reason, its
    provider 429s and its model's call outcomes (a tenant's quota budget: nothing)."""
    parts = split_budget(name)
    if parts is None:
        return
    for reason in DENIAL_REASONS:
        LIMITER_DENIALS.labels(*parts, reason)
    init_deployment(*parts)


def init_priorities(priorities: Iterable[str], kinds: Iterable[str] = ()) -> None:
    """Task counters of each priority (and agent kind) at zero."""
    kinds = list(kinds)
    for priority in priorities:
        TASK_RETRIES.labels(priority)
        DEAD_LETTERS.labels(priority)
        TASK_QUEUE_WAIT.labels(priority)
        for kind in kinds:
            for status in ("succeeded", "failed", "cancelled"):
                TASKS_FINISHED.labels(priority, kind, status)

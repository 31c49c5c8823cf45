"""Prometheus metrics of sessions, shared by the worker (steps) and the gateway (close).

Cost and calls per session are observed once per session, when it is closed: a session
still open has no final figures. Compactions are counted as they happen, per tier.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

SESSION_COST = Histogram(
    "agentqueue_session_cost_usd",
    "Cost of each closed session, USD",
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25),
)
SESSION_CALLS = Histogram(
    "agentqueue_session_calls",
    "LLM calls of each closed session (summaries included)",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
)
SESSION_STEP_COST = Histogram(
    "agentqueue_session_step_cost_usd",
    "Cost of each session step, USD",
    buckets=(0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1),
)
COMPACTIONS = Counter(
    "agentqueue_session_compactions_total",
    "Context compactions, by tier (elide_tool_results, summarise)",
    ["tier"],
)

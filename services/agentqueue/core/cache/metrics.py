"""The cache's Prometheus metrics: what it served, refused and saved."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

LOOKUPS = Counter(
    "agentqueue_cache_lookups_total",
    "Cache lookups by result: exact_hit, semantic_hit, miss, bypass",
    ["result"],
)
for _result in ("exact_hit", "semantic_hit", "miss", "bypass"):  # at zero: hit ratios
    LOOKUPS.labels(_result)
GUARD_REFUSALS = Counter(
    "agentqueue_cache_guard_refusals_total",
    "Semantic matches above the threshold refused by the lexical guard, by what differed",
    ["reason"],
)
FLIGHT_JOINS = Counter(
    "agentqueue_cache_single_flight_total",
    "Requests that found an identical one in flight, by outcome: joined, timeout",
    ["outcome"],
)
STORES = Counter("agentqueue_cache_stores_total", "Answers stored, by cache", ["cache"])
SAVED_TOKENS = Counter(
    "agentqueue_cache_saved_tokens_total", "Provider tokens not spent thanks to cache hits"
)
SAVED_USD = Counter("agentqueue_cache_saved_usd_total", "USD not spent thanks to cache hits")
SEMANTIC_SEARCH = Histogram(
    "agentqueue_cache_semantic_search_seconds",
    "Time to search one scope's vectors in-process",
    buckets=(0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1),
)

"""``agentqueue top --gateway URL``: the overview read from a gateway's Prometheus metrics.

Why metrics and not Redis: on a cluster the operator's terminal reaches the gateway (an
Ingress, a port-forward) but not Redis, and the counters that only processes keep —
limiter denials, provider 429s, fallbacks — exist nowhere else. The gateway has no
admin API yet, so this scrapes ``GET /metrics`` (Prometheus text, parsed by
``prometheus_client``'s own parser) and sends the admin key as ``Authorization: Bearer``,
ready for when ``/metrics`` or an admin API asks for it.

Each service exports what it sees (``docs/observability.md``: "Where each family is
exported"): the gateway its queues (read from Redis at scrape time) and its interactive
calls; the limiter the budgets; each worker its tasks and their calls. ``--metrics URL``
(repeatable) adds other processes' ``/metrics`` to the gateway's: counters are summed
across them (each process counts its own), gauges of the same series take the largest
(every process that exports one reads the same Redis state).

The series read (exported by the gateway; a series absent is shown as unknown):

- ``agentqueue_queue_depth{queue}`` (ready) plus ``agentqueue_queue_in_flight{queue}``
  (fetched, not acked) as the depth — what the Redis source and the autoscaler call
  depth — and ``agentqueue_queue_oldest_age_seconds``, ``…_delayed``, ``…_dead_letters``;
- ``agentqueue_tasks_finished_total{priority,kind,status}``: the rate per queue (the
  queue is the priority) between two scrapes, and failures counted by kind;
- ``agentqueue_budget_available_tokens`` and ``agentqueue_budget_capacity_tokens``
  ``{provider,model,deployment}`` (and ``…_requests`` when exported);
  ``agentqueue_limiter_denials_total{…,reason}`` (summed over reasons) and
  ``agentqueue_provider_429s_total{…}``;
- ``agentqueue_llm_cost_usd_total{provider,model,deployment,priority,tenant}`` summed by
  tenant: a counter, so the spend *since the processes started*, not today's;
- ``agentqueue_llm_fallbacks_total{provider,deployment}``.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence

import httpx
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from agentqueue.core.tasks.overview import BudgetRow, Overview, QueueRow

DEPTH = "agentqueue_queue_depth"
OLDEST = "agentqueue_queue_oldest_age_seconds"
FINISHED = "agentqueue_tasks_finished_total"
AVAILABLE = "agentqueue_budget_available_tokens"
CAPACITY = "agentqueue_budget_capacity_tokens"
AVAILABLE_REQUESTS = "agentqueue_budget_available_requests"
CAPACITY_REQUESTS = "agentqueue_budget_capacity_requests"
IN_FLIGHT = "agentqueue_queue_in_flight"
DELAYED = "agentqueue_queue_delayed"
DEAD_LETTERS = "agentqueue_queue_dead_letters"
DENIALS = "agentqueue_limiter_denials_total"
PROVIDER_429S = "agentqueue_provider_429s_total"
COST = "agentqueue_llm_cost_usd_total"
FALLBACKS = "agentqueue_llm_fallbacks_total"

#: Series that are gauges: deduplicated, not summed, across processes.
GAUGES = (
    DEPTH,
    OLDEST,
    IN_FLIGHT,
    DELAYED,
    DEAD_LETTERS,
    AVAILABLE,
    CAPACITY,
    AVAILABLE_REQUESTS,
    CAPACITY_REQUESTS,
)

#: Seconds one scrape may take.
SCRAPE_TIMEOUT = 5.0

Series = dict[str, list[Sample]]


class ScrapeError(Exception):
    """A target answered, but not with the Prometheus text exposition."""


def parse(text: str) -> Series:
    """Every sample of a Prometheus text exposition, by sample name."""
    out: Series = defaultdict(list)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[sample.name].append(sample)
    return out


def merge(scrapes: Iterable[Series]) -> Series:
    """Several processes' samples as one: gauges of the same series deduplicated (the
    largest), counters kept apart to be summed."""
    out: Series = defaultdict(list)
    for series in scrapes:
        for name, samples in series.items():
            out[name].extend(samples)
    for name in GAUGES:
        if name in out:
            best: dict[tuple[tuple[str, str], ...], Sample] = {}
            for sample in out[name]:
                key = tuple(sorted(sample.labels.items()))
                if key not in best or sample.value > best[key].value:
                    best[key] = sample
            out[name] = list(best.values())
    return out


def _sum_by(samples: Iterable[Sample], *labels: str) -> dict[tuple[str, ...], float]:
    out: dict[tuple[str, ...], float] = defaultdict(float)
    for s in samples:
        out[tuple(s.labels.get(label, "") for label in labels)] += s.value
    return dict(out)


class GatewayOverview:
    """Scrapes a gateway's ``/metrics`` (and ``others``': the limiter's, workers') into an
    :class:`Overview`; keeps the previous scrape's finished-task counters for the rate."""

    def __init__(
        self,
        url: str,
        admin_key: str | None = None,
        *,
        others: Sequence[str] = (),
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url.rstrip("/")
        self.others = [other.rstrip("/") for other in others]
        headers = {"Authorization": f"Bearer {admin_key}"} if admin_key else {}
        self.client = client or httpx.AsyncClient(headers=headers, timeout=SCRAPE_TIMEOUT)
        if client is not None:
            client.headers.update(headers)
        self.clock = clock
        self._finished: dict[str, float] | None = None
        self._last_read: float | None = None

    async def aclose(self) -> None:
        await self.client.aclose()

    async def _scrape(self, url: str) -> Series:
        target = url if url.endswith("/metrics") else f"{url}/metrics"
        response = await self.client.get(target)
        response.raise_for_status()
        try:
            return parse(response.text)
        except ValueError as exc:
            raise ScrapeError(f"{target} did not answer Prometheus text: {exc}") from exc

    async def read(self) -> Overview:
        scrapes = await asyncio.gather(*(self._scrape(u) for u in [self.url, *self.others]))
        now = self.clock()
        overview = self.overview(merge(scrapes), now)
        self._last_read = now
        return overview

    def overview(self, series: Series, now: float) -> Overview:
        out = Overview(
            source=" + ".join([self.url, *self.others]),
            taken_at=now,
            spend_scope="since the processes started",
        )
        out.queues = self._queues(series, now)
        out.budgets = _budgets(series)
        out.spend = {
            tenant or "?": usd for (tenant,), usd in _sum_by(series.get(COST, []), "tenant").items()
        }
        if FALLBACKS in series:
            out.fallbacks = {
                f"{provider}:{deployment}": n
                for (provider, deployment), n in _sum_by(
                    series[FALLBACKS], "provider", "deployment"
                ).items()
            }
        if FINISHED in series:
            failed = [s for s in series[FINISHED] if s.labels.get("status") == "failed"]
            out.failed_by_kind = {kind: n for (kind,), n in _sum_by(failed, "kind").items()}
        missing = [
            name for name in (DEPTH, AVAILABLE, COST, FALLBACKS, FINISHED) if name not in series
        ]
        if missing:
            out.notes.append(
                f"not exported by what was scraped: {', '.join(missing)} "
                "(--metrics adds the limiter's or a worker's /metrics)"
            )
        out.notes.append(
            "replicas are not exported; the list of failed tasks needs Redis (--redis-url)"
        )
        return out

    def _queues(self, series: Series, now: float) -> list[QueueRow]:
        depth = _sum_by([*series.get(DEPTH, []), *series.get(IN_FLIGHT, [])], "queue")
        delayed = _sum_by(series.get(DELAYED, []), "queue")
        oldest: Mapping[tuple[str, ...], float] = {
            (s.labels.get("queue", ""),): s.value for s in series.get(OLDEST, [])
        }
        dead = _sum_by(series.get(DEAD_LETTERS, []), "queue")
        finished = {
            queue: n for (queue,), n in _sum_by(series.get(FINISHED, []), "priority").items()
        }
        rates: dict[str, float] = {}
        if self._finished is not None and self._last_read is not None and now > self._last_read:
            for queue, n in finished.items():
                rates[queue] = max(0.0, n - self._finished.get(queue, 0.0)) / (
                    now - self._last_read
                )
        self._finished = finished
        names = sorted({q for (q,) in depth} | {q for (q,) in oldest} | set(finished))
        return [
            QueueRow(
                name=name,
                depth=int(depth.get((name,), 0)),
                oldest_age_s=oldest.get((name,)) or None,
                rate_per_s=rates.get(name),
                delayed=int(delayed[name,]) if (name,) in delayed else None,
                dead=int(dead[name,]) if (name,) in dead else None,
            )
            for name in names
            if name
        ]


def _budgets(series: Series) -> list[BudgetRow]:
    labels = ("provider", "model", "deployment")
    available = _sum_by(series.get(AVAILABLE, []), *labels)
    capacity = _sum_by(series.get(CAPACITY, []), *labels)
    requests = _sum_by(series.get(AVAILABLE_REQUESTS, []), *labels)
    request_capacity = _sum_by(series.get(CAPACITY_REQUESTS, []), *labels)
    denials = _sum_by(series.get(DENIALS, []), *labels)
    rejected = _sum_by(series.get(PROVIDER_429S, []), *labels)
    return [
        BudgetRow(
            provider=key[0],
            model=key[1],
            deployment=key[2] or "default",
            available_tokens=available.get(key, 0.0),
            capacity_tokens=capacity.get(key, 0.0),
            available_requests=requests.get(key),
            capacity_requests=request_capacity.get(key),
            denials=denials.get(key, 0.0) if DENIALS in series else None,
            provider_429s=rejected.get(key, 0.0) if PROVIDER_429S in series else None,
        )
        for key in sorted(set(available) | set(capacity))
    ]


__all__ = ["GatewayOverview", "ScrapeError", "merge", "parse"]

"""Every service of a running stack, scraped after a mixed workload, exports each metric
family the dashboard and the alert rules use, with its labels, and passes
``promtool check metrics`` (docs/observability.md is the contract).

The stack is ``agentqueue up``'s (``cli/stack.py``): a private Redis, the simulator, the
limiter, a gateway with two uvicorn processes (so its ``/metrics`` must sum both: the
multiprocess mode) and a worker per priority. The workload: tasks of every priority, one
asked again once answered (a cache hit), an interactive stream, a request for a task that
does not exist.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from agentqueue.cli.stack import RunningStack, StackConfig, start_stack
from agentqueue.core.base.ports import free_port

pytestmark = pytest.mark.slow

PRIORITIES = ("high", "standard", "batch")
_MODEL = {"provider", "model", "deployment"}

#: family (as exposed: counters with ``_total``) -> (where, labels of its samples).
#: ``where``: "gateway", "worker" (any worker), "limiter".
EXPECTED: dict[str, tuple[str, set[str]]] = {
    # LLM calls: tasks' in the workers, interactive ones in the gateway
    "agentqueue_llm_tokens_total": ("worker", {*_MODEL, "priority", "tenant", "type"}),
    "agentqueue_llm_cost_usd_total": ("worker", {*_MODEL, "priority", "tenant"}),
    "agentqueue_llm_calls_total": ("worker", {*_MODEL, "outcome"}),
    "agentqueue_llm_call_duration_seconds": ("worker", _MODEL),
    "agentqueue_llm_fallbacks_total": ("worker", {"provider", "deployment"}),
    "agentqueue_breaker_state": ("worker", {"deployment"}),
    "agentqueue_breaker_opened_total": ("worker", {"deployment"}),
    "agentqueue_llm_time_to_first_token_seconds": ("gateway", _MODEL),
    # tasks
    "agentqueue_task_queue_wait_seconds": ("worker", {"priority"}),
    "agentqueue_task_run_seconds": ("worker", {"priority", "kind"}),
    "agentqueue_tasks_finished_total": ("worker", {"priority", "kind", "status"}),
    "agentqueue_task_retries_total": ("worker", {"priority"}),
    "agentqueue_dead_letters_total": ("worker", {"priority"}),
    # limiter, call side
    "agentqueue_limiter_denials_total": ("worker", {*_MODEL, "reason"}),
    "agentqueue_provider_429s_total": ("worker", _MODEL),
    # cache
    "agentqueue_cache_lookups_total": ("worker", {"result"}),
    "agentqueue_cache_saved_usd_total": ("worker", set()),
    "agentqueue_cache_saved_tokens_total": ("worker", set()),
    # queues, read from Redis by the gateway
    "agentqueue_queue_depth": ("gateway", {"queue"}),
    "agentqueue_queue_oldest_age_seconds": ("gateway", {"queue"}),
    "agentqueue_queue_delayed": ("gateway", {"queue"}),
    # gateway HTTP
    "http_requests_total": ("gateway", {"handler", "method", "status"}),
    "http_request_duration_seconds": ("gateway", {"handler", "method"}),
    # budgets, published by the limiter
    "agentqueue_budget_available_tokens": ("limiter", _MODEL),
    "agentqueue_budget_available_requests": ("limiter", _MODEL),
    "agentqueue_budget_capacity_tokens": ("limiter", _MODEL),
    "agentqueue_tenant_quota_available_tokens": ("limiter", {"tenant"}),
    "agentqueue_tenant_quota_usd_per_day": ("limiter", {"tenant"}),
}
#: Labels a histogram's or summary's samples add to the family's.
_SAMPLE_LABELS = {"le", "quantile"}


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        reason = "promtool not installed (Debian: apt-get install prometheus; .ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}: CI must run this test")
        pytest.skip(reason)
    return path


@pytest.fixture(scope="module")
def log_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="aq-metrics-scrape-"))


@pytest.fixture(scope="module")
def stack(log_dir: Path) -> Iterator[RunningStack]:
    running = start_stack(
        StackConfig(
            reuse_redis=False,
            gateway_port=free_port(),
            simulator_port=free_port(),
            worker_threads=2,
            simulator_env={"AGENTQUEUE_SIM_SPEED": "0"},
            env={
                # the stack's key is tenant "local": named by a quota, it keeps its name
                "AGENTQUEUE_TENANT_QUOTAS": json.dumps(
                    {"local": {"tpm": 50_000_000, "usd_per_day": 1000}}
                ),
                "AGENTQUEUE_WORKERS": "2",  # the gateway's /metrics sums its processes
                "AGENTQUEUE_LOG_FORMAT": "json",
            },
            log_dir=log_dir,
        )
    )
    try:
        yield running
    finally:
        running.stop()


def _wait_finished(client: httpx.Client, task_ids: list[str], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    pending = set(task_ids)
    while pending:
        assert time.monotonic() < deadline, f"tasks not finished: {sorted(pending)}"
        for task_id in sorted(pending):
            state = client.get(f"/v1/tasks/{task_id}").json()["status"]
            if state in ("succeeded", "failed", "cancelled"):
                pending.discard(task_id)
        time.sleep(0.2)


def _task(client: httpx.Client, priority: str, text: str) -> str:
    body = {
        "messages": [{"role": "user", "content": text}],
        "priority": priority,
        "temperature": 0,
        "max_tokens": 64,
    }
    answer = client.post("/v1/tasks", json=body)
    assert answer.status_code == 202, answer.text
    return str(answer.json()["id"])


@pytest.fixture(scope="module")
def scrapes(stack: RunningStack) -> dict[str, str]:
    """Run the workload, then scrape every service once."""
    headers = {"Authorization": f"Bearer {stack.api_key}"}
    with httpx.Client(base_url=stack.gateway_url, headers=headers, timeout=30) as client:
        first = [_task(client, p, f"Name a colour, {p} {i}") for p in PRIORITIES for i in (1, 2)]
        _wait_finished(client, first)
        again = _task(client, "standard", "Name a colour, standard 1")  # a cache hit
        _wait_finished(client, [again])
        body = {
            "model": "gpt-4.1",
            "messages": [{"role": "user", "content": "Count to five"}],
            "stream": True,
            "max_tokens": 64,
        }
        with client.stream("POST", "/v1/chat/completions", json=body) as stream:
            assert stream.status_code == 200
            assert "[DONE]" in "".join(stream.iter_text())
        assert client.get("/v1/tasks/no-such-task").status_code == 404
    time.sleep(1.0)  # the limiter's headroom gauges refresh on a timer
    out = {}
    for name, url in stack.metrics_urls.items():
        answer = httpx.get(url, timeout=10)
        assert answer.status_code == 200, (name, answer.text)
        out[name] = answer.text
    assert set(out) == {"gateway", "limiter", *(f"worker-{p}" for p in PRIORITIES)}
    return out


def _families(text: str) -> dict[str, list[dict[str, str]]]:
    """Family name as exposed (a counter's with ``_total``) -> its samples' labels."""
    out: dict[str, list[dict[str, str]]] = {}
    for family in text_string_to_metric_families(text):
        name = f"{family.name}_total" if family.type == "counter" else family.name
        out.setdefault(name, []).extend(
            {k: v for k, v in s.labels.items() if k not in _SAMPLE_LABELS} for s in family.samples
        )
    return out


def test_every_family_of_the_dashboards_and_alerts_is_exported_with_its_labels(
    scrapes: dict[str, str],
) -> None:
    by_service = {name: _families(text) for name, text in scrapes.items()}
    missing = []
    for family, (where, labels) in EXPECTED.items():
        sources = [f for service, f in by_service.items() if service.startswith(where)]
        samples = [s for families in sources for s in families.get(family, [])]
        if not samples:
            missing.append(f"{family} (on {where})")
            continue
        assert all(set(s) == labels for s in samples), (family, labels, samples[:3])
    assert not missing, missing


def test_the_workload_shows_in_the_values(scrapes: dict[str, str]) -> None:
    workers = [
        {(f.name, tuple(sorted(s.labels.items()))): s.value for f in fams for s in f.samples}
        for fams in (
            list(text_string_to_metric_families(scrapes[f"worker-{p}"])) for p in PRIORITIES
        )
    ]
    finished = sum(
        v
        for w in workers
        for (name, labels), v in w.items()
        if name == "agentqueue_tasks_finished" and ("status", "succeeded") in labels
    )
    assert finished >= 7
    tenants = {
        dict(labels)["tenant"]
        for w in workers
        for (name, labels), v in w.items()
        if name == "agentqueue_llm_cost_usd" and v > 0
    }
    assert tenants == {"local"}  # named by its quota
    hits = sum(
        v
        for w in workers
        for (name, labels), v in w.items()
        if name == "agentqueue_cache_lookups" and ("result", "exact_hit") in labels
    )
    assert hits >= 1
    gateway = _families(scrapes["gateway"])
    handlers = {s["handler"] for s in gateway["http_requests_total"]}
    assert "/v1/tasks/{task_id}" in handlers and "/v1/chat/completions" in handlers
    assert not any("no-such-task" in h for h in handlers)  # templates, never raw paths


def test_no_packed_budget_label_and_no_created_series(scrapes: dict[str, str]) -> None:
    for service, text in scrapes.items():
        families = _families(text)
        assert not [f for f, samples in families.items() if any("budget" in s for s in samples)]
        assert not [f for f in families if f.endswith("_created")], service


def test_every_scrape_passes_promtool_check_metrics(promtool: str, scrapes: dict[str, str]) -> None:
    for service, text in scrapes.items():
        proc = subprocess.run(
            [promtool, "check", "metrics"],
            input=text,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert proc.returncode == 0, f"{service}: {proc.stdout}{proc.stderr}"


def test_the_gateways_metrics_sum_all_its_processes(
    stack: RunningStack, scrapes: dict[str, str]
) -> None:
    """Two uvicorn processes behind one port: each fresh connection may reach either, and
    every scrape counts the requests of both."""

    def served() -> float:
        text = httpx.get(stack.metrics_urls["gateway"], timeout=10).text
        return sum(
            s["value"]
            for s in _samples(text, "http_requests_total")
            if s["labels"].get("handler") == "/healthz"
        )

    before = served()
    for _ in range(20):
        assert httpx.get(f"{stack.gateway_url}/healthz", timeout=10).status_code == 200
    for _ in range(3):  # whichever process answers the scrape
        assert served() - before == 20
    assert "python_gc_objects_collected" not in scrapes["gateway"]  # multiprocess mode


def _samples(text: str, name: str) -> list[dict[str, object]]:
    return [
        {"labels": s.labels, "value": s.value}
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == name
    ]


def _json_lines(path: Path) -> list[dict[str, object]]:
    out = []
    for line in path.read_text().splitlines():
        if line.startswith("{"):
            out.append(json.loads(line))  # every line a service writes parses
    return out


def test_json_logs_carry_each_calls_and_requests_fields(
    scrapes: dict[str, str], log_dir: Path
) -> None:
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
    calls = [
        e
        for p in PRIORITIES
        for e in _json_lines(log_dir / f"worker-{p}.log")
        if e.get("event") == "llm_call" and e.get("outcome") == "ok"
    ]
    assert len(calls) >= 6
    for call in calls:
        assert re.fullmatch(stamp, str(call["time"]))
        assert call["task_id"] and call["tenant"] == "local"
        for field in ("provider", "model", "deployment", "latency_s", "cost_usd"):
            assert field in call, (field, call)
        assert isinstance(call["input_tokens"], int) and isinstance(call["output_tokens"], int)
    access = [e for e in _json_lines(log_dir / "gateway.log") if e.get("event") == "http_request"]
    missing = [e for e in access if e["path"] == "/v1/tasks/no-such-task"]
    assert len(missing) == 1  # one line per request
    assert missing[0]["status"] == 404 and missing[0]["level"] == "info"
    assert missing[0]["route"] == "/v1/tasks/{task_id}" and missing[0]["request_id"]
    assert not [e for e in _json_lines(log_dir / "gateway.log") if e["logger"] == "uvicorn.access"]


def test_every_metric_the_dashboard_and_the_alerts_read_is_in_a_scrape(
    scrapes: dict[str, str],
) -> None:
    """The chart's dashboard and alert rules, parsed for the metric names their PromQL
    reads, against what the running services really export (the operator's own metrics
    are checked against its registry in tests/charts/test_monitoring.py)."""
    from tests.charts.test_monitoring import (
        OPERATOR_METRICS,
        _dashboard_queries,
        _rules,
        metric_names,
    )

    exported = set()
    for text in scrapes.values():
        for family in text_string_to_metric_families(text):
            exported.add(family.name)
            exported.update(sample.name for sample in family.samples)
    used: dict[str, set[str]] = {}
    for query in _dashboard_queries():
        for name in metric_names(query):
            used.setdefault(name, set()).add("dashboard")
    for rule in _rules():
        for name in metric_names(rule["expr"]):
            used.setdefault(name, set()).add(rule["alert"])
    missing = {
        name: sorted(where)
        for name, where in used.items()
        if name not in exported and name not in OPERATOR_METRICS
    }
    assert not missing, missing

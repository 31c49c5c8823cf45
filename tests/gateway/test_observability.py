"""The gateway's access lines, HTTP metrics by route template, and queue gauges."""

from __future__ import annotations

import logging

import httpx
import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

HI = {"messages": [{"role": "user", "content": "Say hi"}]}
UNKNOWN = "/v1/tasks/00000000000000000000000000"


def _access(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "agentqueue.access"]


async def test_one_access_line_per_request_with_its_facts(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="agentqueue.access"):
        missing = await client.get(UNKNOWN)
        accepted = await client.post("/v1/tasks", json=HI)
    assert missing.status_code == 404 and accepted.status_code == 202
    first, second = _access(caplog)
    facts = first.__dict__
    assert facts["method"] == "GET" and facts["route"] == "/v1/tasks/{task_id}"
    assert facts["path"] == UNKNOWN and facts["status"] == 404
    assert facts["client_error"] is True
    assert first.levelno == logging.INFO  # the client's mistake: not a warning
    assert facts["tenant"] == "t1"
    assert facts["request_id"] == missing.headers["x-request-id"]
    assert facts["duration_ms"] >= 0
    assert second.__dict__["route"] == "/v1/tasks" and second.__dict__["status"] == 202


async def test_probes_are_quiet(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="agentqueue.access"):
        await client.get("/healthz")
    assert _access(caplog) == []


async def test_requests_are_counted_by_route_template_never_the_raw_path(
    client: httpx.AsyncClient,
) -> None:
    labels = {"handler": "/v1/tasks/{task_id}", "method": "GET", "status": "404"}
    before = REGISTRY.get_sample_value("http_requests_total", labels) or 0
    await client.get(UNKNOWN)
    assert REGISTRY.get_sample_value("http_requests_total", labels) == before + 1
    text = (await client.get("/metrics")).text
    assert UNKNOWN not in text
    assert 'http_request_duration_seconds_count{handler="/v1/tasks/{task_id}",method="GET"}' in text


async def test_metrics_show_each_queues_depth_and_oldest_age(client: httpx.AsyncClient) -> None:
    await client.post("/v1/tasks", json={**HI, "priority": "batch"})  # no worker runs it
    families = {
        f.name: f for f in text_string_to_metric_families((await client.get("/metrics")).text)
    }

    def by_queue(name: str) -> dict[str, float]:
        return {s.labels["queue"]: s.value for s in families[name].samples}

    assert by_queue("agentqueue_queue_depth") == {"high": 0, "standard": 0, "batch": 1}
    assert by_queue("agentqueue_queue_oldest_age_seconds")["batch"] >= 0
    assert by_queue("agentqueue_queue_oldest_age_seconds")["high"] == 0
    assert set(by_queue("agentqueue_queue_delayed")) == {"high", "standard", "batch"}
    assert families["agentqueue_queue_stats_up"].samples[0].value == 1


async def test_a_path_no_route_matches_is_counted_as_none_once(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Unmatched paths share one series, so a scanner cannot grow the registry."""
    labels = {"handler": "none", "method": "GET", "status": "404"}
    before = REGISTRY.get_sample_value("http_requests_total", labels) or 0
    with caplog.at_level(logging.INFO, logger="agentqueue.access"):
        for i in range(3):
            assert (await client.get(f"/no/such/path/{i}")).status_code == 404
    assert REGISTRY.get_sample_value("http_requests_total", labels) == before + 3
    assert [r.__dict__["route"] for r in _access(caplog)] == ["none"] * 3
    assert "/no/such/path" not in (await client.get("/metrics")).text

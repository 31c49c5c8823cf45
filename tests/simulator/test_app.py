"""The simulator over HTTP: headers, 429s, admin API and the call log."""

import time

import httpx
import pytest

HELLO_ANTHROPIC = {
    "model": "claude-x",
    "max_tokens": 20,
    "messages": [{"role": "user", "content": "hi"}],
}
HELLO_OPENAI = {"model": "gpt-x", "max_tokens": 20, "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def http(simulator) -> httpx.Client:
    with httpx.Client(base_url=simulator.url) as client:
        yield client


def test_success_carries_each_providers_rate_limit_headers(http: httpx.Client) -> None:
    r = http.post("/v1/messages", json=HELLO_ANTHROPIC, headers={"x-api-key": "k"})
    assert r.status_code == 200
    assert int(r.headers["anthropic-ratelimit-requests-remaining"]) == 999
    assert r.headers["anthropic-ratelimit-tokens-reset"].endswith("Z")
    r = http.post("/v1/chat/completions", json=HELLO_OPENAI, headers={"Authorization": "Bearer k"})
    assert r.status_code == 200 and r.headers["x-ratelimit-remaining-requests"] == "999"
    assert r.headers["x-ratelimit-reset-requests"].endswith("s")


def test_429_names_the_exact_wait(http: httpx.Client, simulator) -> None:
    simulator.configure({"anthropic": {"rpm": 1}})
    headers = {"x-api-key": "k"}
    assert http.post("/v1/messages", json=HELLO_ANTHROPIC, headers=headers).status_code == 200
    r = http.post("/v1/messages", json=HELLO_ANTHROPIC, headers=headers)
    assert r.status_code == 429
    assert r.json()["error"]["type"] == "rate_limit_error"
    assert r.headers["retry-after"] == "60"
    assert r.headers["anthropic-ratelimit-requests-remaining"] == "0"
    other_key = http.post("/v1/messages", json=HELLO_ANTHROPIC, headers={"x-api-key": "k2"})
    assert other_key.status_code == 200  # limits are per key


def test_gemini_429_puts_the_wait_in_the_body(http: httpx.Client, simulator) -> None:
    simulator.configure({"google": {"rpm": 1, "minute_seconds": 10}})
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    url = "/v1beta/models/gemini-x:generateContent"
    assert http.post(url, json=body, headers={"x-goog-api-key": "k"}).status_code == 200
    r = http.post(url, json=body, params={"key": "k"})
    assert r.status_code == 429
    detail = r.json()["error"]["details"][0]
    assert detail["@type"].endswith("RetryInfo") and detail["retryDelay"] == "10s"


def test_config_rejects_unknown_names_and_bad_values(http: httpx.Client) -> None:
    assert http.patch("/_sim/config", json={"mistral": {"outage": True}}).status_code == 422
    assert http.patch("/_sim/config", json={"all": {"colour": 1}}).status_code == 422
    assert http.patch("/_sim/config", json={"all": {"error_rate": 2}}).status_code == 422
    assert http.patch("/_sim/config", json={"all": {"outage": "yes"}}).status_code == 422
    config = http.get("/_sim/config").json()
    assert not any(b["outage"] for b in config.values())


def test_reset_restores_start_behaviour_and_counters(http: httpx.Client, simulator) -> None:
    simulator.configure({"all": {"outage": True}})
    http.post("/v1/messages", json=HELLO_ANTHROPIC, headers={"x-api-key": "k"})
    simulator.reset()
    assert simulator.stats() == {"providers": {}, "deployments": {}, "models": {}, "calls": []}
    assert (
        http.post("/v1/messages", json=HELLO_ANTHROPIC, headers={"x-api-key": "k"}).status_code
        == 200
    )


def test_call_log_times_follow_the_latency_model(http: httpx.Client, simulator) -> None:
    simulator.configure({"openai": {"speed": 1.0, "ttft_ms": 200, "ms_per_token": 0}})
    t0 = time.time()
    http.post("/v1/chat/completions", json=HELLO_OPENAI, headers={"Authorization": "Bearer k"})
    (call,) = simulator.stats()["calls"]
    assert call["provider"] == "openai" and call["status"] == 200
    assert call["start"] >= t0 - 0.01 and call["end"] - call["start"] >= 0.19


def test_stats_count_per_model_and_leave_the_log_out_on_request(
    http: httpx.Client, simulator
) -> None:
    simulator.configure({"anthropic": {"rpm": 1}})
    headers = {"x-api-key": "k"}
    for _ in range(2):  # the second is refused: one request a minute
        http.post("/v1/messages", json=HELLO_ANTHROPIC, headers=headers)
    other = {**HELLO_ANTHROPIC, "model": "claude-y"}
    assert http.post("/v1/messages", json=other, headers=headers).status_code == 200
    counted = http.get("/_sim/stats", params={"calls": "false"}).json()
    assert "calls" not in counted
    x, y = counted["models"]["anthropic:claude-x"], counted["models"]["anthropic:claude-y"]
    assert (x["ok"], x["rate_limited"], y["ok"], y["rate_limited"]) == (1, 1, 1, 0)
    assert y["input_tokens"] > 0 and y["output_tokens"] > 0
    assert len(http.get("/_sim/stats").json()["calls"]) == 3

"""The cloud deployment kinds' URL shapes, headers and errors, over plain HTTP.

Azure OpenAI's ``/openai/deployments/{name}/…?api-version=``, Bedrock's ``/model/{id}/invoke``
(and its AWS event stream), Vertex AI's ``…:rawPredict`` and ``…:generateContent``, each
under ``/d/{deployment}`` too, where a deployment has buckets, limits and counters of its own.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import httpx
import pytest
from botocore.eventstream import EventStreamBuffer
from pydantic import ValidationError

from agentqueue.simulator.settings import DeploymentLimits, SimulatorSettings
from agentqueue.simulator.testing import SimulatorHandle, running_simulator

CHAT = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 20}
CLAUDE = {"anthropic_version": "bedrock-2023-05-31", **CHAT}
GEMINI = {
    "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
    "generationConfig": {"maxOutputTokens": 20},
}
AZURE = "/openai/deployments/gpt-eu/chat/completions"
SIGV4 = (
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/eu-west-1/bedrock/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=0123abcd"
)
VERTEX_CLAUDE = "/v1/projects/p/locations/europe-west1/publishers/anthropic/models/claude-x@1"
VERTEX_GEMINI = "/v1beta1/projects/p/locations/europe-west4/publishers/google/models/gemini-x"


@pytest.fixture(scope="module")
def server() -> Iterator[SimulatorHandle]:
    limits = {"tiny": DeploymentLimits(rpm=1, minute_seconds=30), "small": DeploymentLimits(rpm=2)}
    with running_simulator(SimulatorSettings(speed=0, seed=1, deployments=limits)) as handle:
        yield handle


@pytest.fixture
def http(server: SimulatorHandle) -> Iterator[httpx.Client]:
    server.reset()
    with httpx.Client(base_url=server.url) as client:
        yield client


def _frames(body: bytes) -> list[tuple[dict[str, object], bytes]]:
    buffer = EventStreamBuffer()  # checks both CRCs of every message
    buffer.add_data(body)
    return [(dict(m.headers), m.payload) for m in buffer]


def test_azure_chat_needs_api_version_and_answers_with_rate_limit_headers(
    http: httpx.Client,
) -> None:
    headers = {"api-key": "k"}
    missing = http.post(AZURE, json=CHAT, headers=headers)
    assert missing.status_code == 400
    assert missing.json()["error"]["code"] == "MissingApiVersionParameter"
    r = http.post(AZURE, json=CHAT, headers=headers, params={"api-version": "2024-10-21"})
    assert r.status_code == 200 and r.json()["model"] == "gpt-eu"  # the deployment's name
    assert r.json()["choices"][0]["message"]["content"].startswith("Simulated gpt-eu reply")
    assert r.headers["x-ratelimit-remaining-requests"] == "999"
    assert int(r.headers["x-ratelimit-remaining-tokens"]) < 400_000


def test_azure_errors_have_azures_body_and_both_waits(http: httpx.Client) -> None:
    url, params = f"/d/tiny{AZURE}", {"api-version": "2024-10-21"}
    assert http.post(url, json=CHAT, headers={"api-key": "k"}, params=params).status_code == 200
    r = http.post(url, json=CHAT, headers={"api-key": "k"}, params=params)
    assert r.status_code == 429
    error = r.json()["error"]
    assert error["code"] == "429" and "Please retry after 30 seconds" in error["message"]
    assert r.headers["retry-after"] == "30" and r.headers["retry-after-ms"] == "30000"
    assert r.headers["x-ratelimit-remaining-requests"] == "0"
    denied = http.post(url, json=CHAT, headers={"api-key": "bad"}, params=params)
    assert denied.status_code == 401 and denied.json()["error"]["code"] == "401"


def test_azure_embeddings(http: httpx.Client) -> None:
    r = http.post(
        "/openai/deployments/embed-eu/embeddings",
        json={"input": ["a", "b"]},
        headers={"api-key": "k"},
        params={"api-version": "2024-10-21"},
    )
    assert r.status_code == 200 and [d["index"] for d in r.json()["data"]] == [0, 1]


def test_bedrock_invoke_answers_anthropics_message_without_its_headers(
    http: httpx.Client,
) -> None:
    r = http.post(
        "/model/eu.anthropic.claude-x-v1:0/invoke", json=CLAUDE, headers={"authorization": SIGV4}
    )
    assert r.status_code == 200
    assert r.json()["type"] == "message" and r.json()["model"] == "eu.anthropic.claude-x-v1:0"
    assert not [h for h in r.headers if h.startswith("anthropic-ratelimit")]
    assert int(r.headers["x-amzn-bedrock-output-token-count"]) == r.json()["usage"]["output_tokens"]
    assert http.get("/_sim/stats").json()["calls"][-1]["key_hint"] == "AKIDEXAM"


def test_bedrock_stream_is_an_aws_event_stream_of_anthropic_events(http: httpx.Client) -> None:
    r = http.post(
        "/d/small/model/anthropic.claude-x/invoke-with-response-stream",
        json=CLAUDE,
        headers={"authorization": SIGV4},
    )
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/vnd.amazon.eventstream"
    frames = _frames(r.content)
    assert all(h[":event-type"] == "chunk" and h[":message-type"] == "event" for h, _ in frames)
    events = [json.loads(base64.b64decode(json.loads(p)["bytes"])) for _, p in frames]
    assert events[0]["type"] == "message_start" and events[-1]["type"] == "message_stop"
    text = "".join(e["delta"].get("text", "") for e in events if e["type"] == "content_block_delta")
    assert text.startswith("Simulated anthropic.claude-x reply")
    assert http.get("/_sim/stats").json()["deployments"]["small"]["ok"] == 1


def test_bedrock_throttling_and_mid_stream_exceptions(
    http: httpx.Client, server: SimulatorHandle
) -> None:
    url = "/d/tiny/model/anthropic.claude-x/invoke"
    assert http.post(url, json=CLAUDE, headers={"authorization": SIGV4}).status_code == 200
    r = http.post(url, json=CLAUDE, headers={"authorization": SIGV4})
    assert r.status_code == 429 and "retry-after" not in r.headers
    assert r.json() == {"message": "Too many requests, please wait before trying again."}
    assert r.headers["x-amzn-errortype"].startswith("ThrottlingException:")
    denied = http.post(url, json=CLAUDE, headers={"authorization": "Bearer bad-key"})
    assert denied.status_code == 403
    assert denied.headers["x-amzn-errortype"].startswith("UnrecognizedClientException:")
    server.configure({"anthropic": {"mid_stream_error_rate": 1.0}})
    streamed = http.post(
        "/model/anthropic.claude-x/invoke-with-response-stream",
        json=CLAUDE,
        headers={"authorization": "Bearer bedrock-key"},
    )
    headers, payload = _frames(streamed.content)[-1]
    assert headers[":message-type"] == "exception"
    assert headers[":exception-type"] == "serviceUnavailableException"
    assert "Overloaded" in json.loads(payload)["message"]


def test_vertex_anthropic_raw_predict_and_stream(http: httpx.Client) -> None:
    auth = {"authorization": "Bearer ya29.token"}
    body = {"anthropic_version": "vertex-2023-10-16", **CHAT}
    r = http.post(f"{VERTEX_CLAUDE}:rawPredict", json=body, headers=auth)
    assert r.status_code == 200 and r.json()["model"] == "claude-x@1"
    assert not [h for h in r.headers if h.startswith("anthropic-ratelimit")]
    streamed = http.post(
        f"{VERTEX_CLAUDE}:streamRawPredict", json={**body, "stream": True}, headers=auth
    )
    assert streamed.headers["content-type"].startswith("text/event-stream")
    assert "event: message_stop" in streamed.text
    assert http.post(f"{VERTEX_CLAUDE}:predict", json=body, headers=auth).status_code == 404


def test_vertex_quota_errors_are_googles(http: httpx.Client) -> None:
    auth = {"authorization": "Bearer ya29.token"}
    url = f"/d/tiny{VERTEX_CLAUDE}:rawPredict"
    assert http.post(url, json=CHAT, headers=auth).status_code == 200
    r = http.post(url, json=CHAT, headers=auth)
    assert r.status_code == 429 and r.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert "retry-after" not in r.headers
    denied = http.post(url, json=CHAT, headers={"authorization": "Bearer bad"})
    assert denied.status_code == 401 and denied.json()["error"]["status"] == "UNAUTHENTICATED"


def test_vertex_gemini_with_a_project_and_in_express_mode(http: httpx.Client) -> None:
    auth = {"authorization": "Bearer ya29.token"}
    r = http.post(f"{VERTEX_GEMINI}:generateContent", json=GEMINI, headers=auth)
    assert r.status_code == 200 and r.json()["modelVersion"] == "gemini-x"
    streamed = http.post(
        "/v1/projects/p/locations/us-central1/publishers/google/models/gemini-x"
        ":streamGenerateContent",
        json=GEMINI,
        headers=auth,
        params={"alt": "sse"},
    )
    assert streamed.status_code == 200 and streamed.text.count("data: ") > 1
    express = http.post(
        "/v1beta1/publishers/google/models/gemini-x:generateContent",
        json=GEMINI,
        headers={"x-goog-api-key": "express-key"},
    )
    assert express.status_code == 200


def test_each_named_deployment_has_its_own_buckets_and_counters(http: httpx.Client) -> None:
    auth = {"authorization": "Bearer k"}
    body = {"model": "gpt-x", **CHAT}
    plain = http.post("/v1/chat/completions", json=body, headers=auth)
    small = [http.post("/d/small/v1/chat/completions", json=body, headers=auth) for _ in range(3)]
    other = http.post("/d/other/v1/chat/completions", json=body, headers=auth)
    assert plain.headers["x-ratelimit-limit-requests"] == "1000"  # the provider's limits
    assert [r.status_code for r in small] == [200, 200, 429]
    assert small[0].headers["x-ratelimit-limit-requests"] == "2"  # its own
    assert other.status_code == 200  # not configured: its provider's limits, its own buckets
    assert other.headers["x-ratelimit-remaining-requests"] == "999"
    stats = http.get("/_sim/stats").json()
    assert stats["providers"]["openai"]["requests"] == 5
    assert stats["deployments"]["small"] == {
        **stats["deployments"]["small"],
        "requests": 3,
        "ok": 2,
        "rate_limited": 1,
    }
    assert stats["deployments"]["other"]["ok"] == 1
    assert [c["deployment"] for c in stats["calls"]] == [None, "small", "small", "small", "other"]


def test_the_prefix_serves_every_route_and_keeps_the_plain_ones(http: httpx.Client) -> None:
    auth = {"x-api-key": "k"}
    body = {"model": "claude-x", **CHAT}
    assert http.post("/d/eu/v1/messages", json=body, headers=auth).status_code == 200
    assert http.post("/d/eu/v1/messages/count_tokens", json=body, headers=auth).status_code == 200
    gemini = "/d/eu/v1beta/models/gemini-x:generateContent"
    assert http.post(gemini, json=GEMINI, headers={"x-goog-api-key": "k"}).status_code == 200
    assert http.post("/d/Not_A_Name/v1/messages", json=body, headers=auth).status_code == 404
    assert http.get("/_sim/stats").json()["deployments"]["eu"]["ok"] == 2


def test_deployment_limits_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTQUEUE_SIM_DEPLOYMENTS", '{"azure-eu": {"rpm": 100, "tpm": 10000}}')
    assert SimulatorSettings().deployments == {"azure-eu": DeploymentLimits(rpm=100, tpm=10000)}


def test_deployment_settings_are_validated() -> None:
    with pytest.raises(ValidationError):
        SimulatorSettings(deployments={"Azure EU": DeploymentLimits(rpm=1)})
    with pytest.raises(ValidationError):
        SimulatorSettings(deployments={"eu": {"rmp": 1}})  # type: ignore[dict-item]
    parsed = SimulatorSettings.model_validate({"deployments": {"eu": {"tpm": 10}}})
    assert parsed.deployments["eu"] == DeploymentLimits(tpm=10)

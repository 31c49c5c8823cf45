"""The simulator's batch APIs, through the official SDKs: OpenAI's files and batches,
Anthropic's Message Batches, Gemini's Batch Mode — answers and usage per request as
online, per-request failures, cancel, expiry, the enqueued-tokens cap, and no effect on
the online limits."""

from __future__ import annotations

import io
import json
from typing import Any

import anthropic
import httpx
import openai
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from agentqueue.simulator.testing import SimulatorHandle


def chat(question: str, max_tokens: int = 40) -> dict[str, Any]:
    return {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": question}],
        "max_tokens": max_tokens,
    }


def jsonl(bodies: dict[str, dict[str, Any]]) -> bytes:
    lines = [
        {"custom_id": cid, "method": "POST", "url": "/v1/chat/completions", "body": body}
        for cid, body in bodies.items()
    ]
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


def claude(question: str) -> dict[str, Any]:
    return {
        "model": "claude-x",
        "max_tokens": 40,
        "messages": [{"role": "user", "content": question}],
    }


@pytest.fixture
def oai(simulator: SimulatorHandle) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=f"{simulator.url}/v1", api_key="k", max_retries=0)


@pytest.fixture
def claude_client(simulator: SimulatorHandle) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=simulator.url, api_key="k", max_retries=0)


@pytest.fixture
def gemini(simulator: SimulatorHandle) -> genai.Client:
    options = types.HttpOptions(
        base_url=simulator.url, retry_options=types.HttpRetryOptions(attempts=1)
    )
    return genai.Client(api_key="k", http_options=options)


async def openai_batch(oai: openai.AsyncOpenAI, bodies: dict[str, dict[str, Any]]) -> Any:
    uploaded = await oai.files.create(file=("in.jsonl", io.BytesIO(jsonl(bodies))), purpose="batch")
    return await oai.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
    )


async def lines(oai: openai.AsyncOpenAI, file_id: str | None) -> dict[str, dict[str, Any]]:
    if file_id is None:
        return {}
    content = await oai.files.content(file_id)
    return {(line := json.loads(raw))["custom_id"]: line for raw in content.text.splitlines()}


async def test_openai_batch_answers_each_request_as_online(
    oai: openai.AsyncOpenAI, simulator: SimulatorHandle
) -> None:
    bodies = {"a": chat("What is a queue?"), "b": chat("Name three colours.", max_tokens=5)}
    created = await openai_batch(oai, bodies)
    assert created.status == "validating" and created.request_counts is not None
    assert created.request_counts.total == 2
    batch = await oai.batches.retrieve(created.id)
    assert batch.status == "completed" and batch.completed_at is not None
    assert batch.request_counts is not None
    assert batch.request_counts.completed == 2 and batch.request_counts.failed == 0
    assert batch.error_file_id is None
    out = await lines(oai, batch.output_file_id)
    assert set(out) == {"a", "b"}
    for cid, body in bodies.items():
        online = (await oai.chat.completions.create(**body)).model_dump()
        response = out[cid]["response"]
        assert response["status_code"] == 200 and out[cid]["error"] is None
        answer = response["body"]
        assert answer["object"] == "chat.completion"
        assert (
            answer["choices"][0]["message"]["content"] == online["choices"][0]["message"]["content"]
        )
        assert answer["usage"]["prompt_tokens"] == online["usage"]["prompt_tokens"]
        assert answer["usage"]["completion_tokens"] == online["usage"]["completion_tokens"]
    assert batch.usage is not None and batch.usage.output_tokens == sum(
        out[c]["response"]["body"]["usage"]["completion_tokens"] for c in out
    )
    listed = await oai.batches.list()
    assert [b.id for b in listed.data] == [created.id]


async def test_openai_failures_are_per_request(
    oai: openai.AsyncOpenAI, simulator: SimulatorHandle
) -> None:
    simulator.configure({"batches": {"error_rate": 0.5}})
    bodies = {f"r{i}": chat(f"question number {i}") for i in range(12)}
    batch = await oai.batches.retrieve((await openai_batch(oai, bodies)).id)
    assert batch.status == "completed"
    out, errors = await lines(oai, batch.output_file_id), await lines(oai, batch.error_file_id)
    assert out and errors and set(out) | set(errors) == set(bodies)
    assert not set(out) & set(errors)
    assert batch.request_counts is not None
    assert batch.request_counts.completed == len(out)
    assert batch.request_counts.failed == len(errors)
    for line in errors.values():
        assert line["response"]["status_code"] == 500
        assert line["response"]["body"]["error"]["type"] == "server_error"


async def test_openai_cancel_expiry_cap_and_bad_lines(
    oai: openai.AsyncOpenAI, simulator: SimulatorHandle
) -> None:
    simulator.configure({"batches": {"delay_seconds": 3600}})
    running = await openai_batch(oai, {"a": chat("hello")})
    assert (await oai.batches.retrieve(running.id)).status == "validating"
    assert (await oai.batches.cancel(running.id)).status == "cancelling"
    cancelled = await oai.batches.retrieve(running.id)
    assert cancelled.status == "cancelled" and cancelled.output_file_id is None
    errors = await lines(oai, cancelled.error_file_id)
    assert errors["a"]["error"]["code"] == "batch_cancelled"

    simulator.configure({"batches": {"delay_seconds": 0, "expire_next": 1}})
    expired = await oai.batches.retrieve((await openai_batch(oai, {"a": chat("hi")})).id)
    assert expired.status == "expired" and expired.expired_at is not None
    assert (await lines(oai, expired.error_file_id))["a"]["error"]["code"] == "batch_expired"
    again = await oai.batches.retrieve((await openai_batch(oai, {"a": chat("hi")})).id)
    assert again.status == "completed"  # only the next one expired: a resubmission works

    simulator.configure({"batches": {"enqueued_tokens": 1}})
    refused = await oai.batches.retrieve((await openai_batch(oai, {"a": chat("hello")})).id)
    assert refused.status == "failed" and refused.errors is not None
    assert refused.errors.data is not None
    assert refused.errors.data[0].code == "token_limit_exceeded"

    simulator.configure({"batches": {"enqueued_tokens": 1_000_000}})
    file = await oai.files.create(
        file=("bad.jsonl", io.BytesIO(b'{"custom_id": "a"}\nnot json\n')), purpose="batch"
    )
    bad = await oai.batches.create(
        input_file_id=file.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    bad = await oai.batches.retrieve(bad.id)
    assert bad.status == "failed" and bad.errors is not None and bad.errors.data is not None
    assert [e.line for e in bad.errors.data] == [1, 2]
    assert (await oai.files.delete(file.id)).deleted
    with pytest.raises(openai.NotFoundError):
        await oai.batches.retrieve("batch_nope")


async def test_anthropic_batch_results_failures_and_delete(
    claude_client: anthropic.AsyncAnthropic, simulator: SimulatorHandle
) -> None:
    requests: Any = [{"custom_id": f"q{i}", "params": claude(f"question {i}")} for i in range(10)]
    created = await claude_client.messages.batches.create(requests=requests)
    assert created.processing_status == "in_progress" and created.results_url is None
    batch = await claude_client.messages.batches.retrieve(created.id)
    assert batch.processing_status == "ended" and batch.request_counts.succeeded == 10
    assert batch.results_url is not None and batch.results_url.startswith(simulator.url)
    results = {
        r.custom_id: r.result async for r in await claude_client.messages.batches.results(batch.id)
    }
    online = await claude_client.messages.create(**claude("question 3"))
    answer = results["q3"]
    assert answer.type == "succeeded"
    assert answer.message.content == online.content
    assert answer.message.usage.input_tokens == online.usage.input_tokens
    assert answer.message.usage.output_tokens == online.usage.output_tokens

    simulator.configure({"batches": {"error_rate": 0.5}})
    mixed = await claude_client.messages.batches.create(requests=requests)
    counts = (await claude_client.messages.batches.retrieve(mixed.id)).request_counts
    assert counts.succeeded and counts.errored and counts.succeeded + counts.errored == 10
    outcomes = {
        r.custom_id: r.result async for r in await claude_client.messages.batches.results(mixed.id)
    }
    errored = [c for c, r in outcomes.items() if r.type == "errored"]
    assert len(errored) == counts.errored
    for cid in errored:
        result = outcomes[cid]
        assert result.type == "errored" and result.error.error.type == "api_error"

    deleted = await claude_client.messages.batches.delete(mixed.id)
    assert deleted.type == "message_batch_deleted"
    with pytest.raises(anthropic.NotFoundError):
        await claude_client.messages.batches.retrieve(mixed.id)
    page = await claude_client.messages.batches.list()
    assert [b.id for b in page.data] == [created.id]


async def test_anthropic_cancel_expiry_and_cap(
    claude_client: anthropic.AsyncAnthropic, simulator: SimulatorHandle
) -> None:
    requests: Any = [{"custom_id": "only", "params": claude("hello " * 30)}]
    simulator.configure({"batches": {"delay_seconds": 3600}})
    running = await claude_client.messages.batches.create(requests=requests)
    with pytest.raises(anthropic.BadRequestError):  # still in progress
        await claude_client.messages.batches.delete(running.id)
    canceling = await claude_client.messages.batches.cancel(running.id)
    assert canceling.processing_status == "canceling"
    ended = await claude_client.messages.batches.retrieve(running.id)
    assert ended.processing_status == "ended" and ended.request_counts.canceled == 1
    results = [r async for r in await claude_client.messages.batches.results(running.id)]
    assert [r.result.type for r in results] == ["canceled"]

    waiting = await claude_client.messages.batches.create(requests=requests)
    async with httpx.AsyncClient(base_url=simulator.url) as admin:
        (await admin.post(f"/_sim/batches/{waiting.id}/expire")).raise_for_status()
    expired = await claude_client.messages.batches.retrieve(waiting.id)
    assert expired.processing_status == "ended" and expired.request_counts.expired == 1

    simulator.configure({"batches": {"enqueued_tokens": 50}})
    held = await claude_client.messages.batches.create(requests=requests)  # fits, stays
    with pytest.raises(anthropic.RateLimitError):
        await claude_client.messages.batches.create(requests=requests)
    await claude_client.messages.batches.cancel(held.id)  # frees its tokens
    await claude_client.messages.batches.create(requests=requests)
    assert simulator.stats()["batches"]["anthropic"]["refused"] == 1


async def test_gemini_batch_mode_inlined_requests(
    gemini: genai.Client, simulator: SimulatorHandle
) -> None:
    src: Any = [
        {
            "contents": [{"role": "user", "parts": [{"text": f"question {i}"}]}],
            "metadata": {"key": f"k{i}"},
        }
        for i in range(3)
    ]
    created = await gemini.aio.batches.create(model="gemini-2.5-flash", src=src)
    assert created.name is not None and created.name.startswith("batches/")
    assert created.state == types.JobState.JOB_STATE_PENDING
    job = await gemini.aio.batches.get(name=created.name)
    assert job.state == types.JobState.JOB_STATE_SUCCEEDED and job.done
    assert job.dest is not None and job.dest.inlined_responses is not None
    responses = job.dest.inlined_responses
    assert [r.metadata for r in responses] == [{"key": f"k{i}"} for i in range(3)]
    online = await gemini.aio.models.generate_content(
        model="gemini-2.5-flash", contents="question 1"
    )
    first = responses[1].response
    assert first is not None and first.text == online.text
    assert first.usage_metadata == online.usage_metadata

    simulator.configure({"batches": {"error_rate": 1.0}})
    failing = await gemini.aio.batches.create(model="gemini-2.5-flash", src=src)
    failed = await gemini.aio.batches.get(name=failing.name or "")
    assert failed.state == types.JobState.JOB_STATE_SUCCEEDED  # the job; not its requests
    assert failed.dest is not None and failed.dest.inlined_responses is not None
    assert all(r.error is not None and r.response is None for r in failed.dest.inlined_responses)


async def test_gemini_cancel_expiry_and_cap(
    gemini: genai.Client, simulator: SimulatorHandle
) -> None:
    src: Any = [{"contents": [{"role": "user", "parts": [{"text": "hello"}]}]}]
    simulator.configure({"batches": {"delay_seconds": 3600}})
    running = await gemini.aio.batches.create(model="gemini-2.5-flash", src=src)
    name = running.name or ""
    assert (await gemini.aio.batches.get(name=name)).state == types.JobState.JOB_STATE_RUNNING
    await gemini.aio.batches.cancel(name=name)
    assert (await gemini.aio.batches.get(name=name)).state == types.JobState.JOB_STATE_CANCELLED

    simulator.configure({"batches": {"delay_seconds": 0, "expire_next": 1}})
    expiring = await gemini.aio.batches.create(model="gemini-2.5-flash", src=src)
    expired = await gemini.aio.batches.get(name=expiring.name or "")
    assert expired.state == types.JobState.JOB_STATE_EXPIRED and expired.dest is None

    simulator.configure({"batches": {"enqueued_tokens": 1}})
    with pytest.raises(genai_errors.ClientError) as refused:
        await gemini.aio.batches.create(model="gemini-2.5-flash", src=src)
    assert refused.value.code == 429 and refused.value.status == "RESOURCE_EXHAUSTED"


async def test_batches_leave_online_limits_and_counters_alone(
    oai: openai.AsyncOpenAI,
    claude_client: anthropic.AsyncAnthropic,
    simulator: SimulatorHandle,
) -> None:
    simulator.configure({"all": {"rpm": 1, "tpm": 50}})
    await openai_batch(oai, {f"r{i}": chat("hello there", max_tokens=40) for i in range(5)})
    requests: Any = [{"custom_id": f"q{i}", "params": claude("hello")} for i in range(5)]
    batch = await claude_client.messages.batches.create(requests=requests)
    ended = await claude_client.messages.batches.retrieve(batch.id)
    assert ended.request_counts.succeeded == 5  # beyond rpm 1 and tpm 50: not limited
    stats = simulator.stats()
    assert stats["providers"] == {} and stats["calls"] == []
    assert stats["batches"]["openai"]["requests"] == 5
    assert stats["batches"]["anthropic"]["requests_succeeded"] == 5
    # the online buckets are full: the one request a minute still gets through
    assert (await claude_client.messages.create(**claude("hello"))).content
    simulator.reset()
    assert "batches" not in simulator.stats()


async def test_batches_under_a_deployment_prefix(simulator: SimulatorHandle) -> None:
    client = anthropic.AsyncAnthropic(
        base_url=f"{simulator.url}/d/eu-west", api_key="k", max_retries=0
    )
    requests: Any = [{"custom_id": "only", "params": claude("hello")}]
    batch = await client.messages.batches.create(requests=requests)
    ended = await client.messages.batches.retrieve(batch.id)
    assert ended.results_url == f"{simulator.url}/d/eu-west/v1/messages/batches/{batch.id}/results"
    assert [r.result.type async for r in await client.messages.batches.results(batch.id)] == [
        "succeeded"
    ]


def test_bad_keys_and_bad_config_are_refused(simulator: SimulatorHandle) -> None:
    with httpx.Client(base_url=simulator.url) as http:
        assert http.get("/v1/batches/x").status_code == 401
        assert http.post("/v1/messages/batches", json={}).status_code == 401
        assert http.get("/v1beta/batches/x", params={"key": "bad"}).status_code == 401
        for bad in ({"colour": 1}, {"error_rate": 2}, {"delay_seconds": -1}, 3):
            assert http.patch("/_sim/config", json={"batches": bad}).status_code == 422
        assert http.get("/_sim/batches").json()["config"]["error_rate"] == 0.0

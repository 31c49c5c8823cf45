"""Token counting: the local estimate, its calibration, and the providers' count endpoints
(the simulator implements Anthropic's and Gemini's through the official SDKs)."""

import pytest

from agentqueue.core.llm.messages import ChatMessage, CompletionRequest, Usage
from agentqueue.core.llm.tokens import (
    AnthropicCount,
    Calibration,
    GeminiCount,
    TokenCounter,
    estimate_request,
    estimate_text,
)
from agentqueue.simulator.text import estimate_tokens


def _request(*texts: str, system: str | None = None) -> CompletionRequest:
    roles = ["user", "assistant"]
    return CompletionRequest(
        messages=[ChatMessage(role=roles[i % 2], content=t) for i, t in enumerate(texts)],  # type: ignore[arg-type]
        system=system,
    )


def test_estimate_is_the_simulators_and_the_limiters() -> None:
    texts = ["a" * 1, "b" * 4, "c" * 5, "d" * 4001]
    request = _request(*texts[1:], system=texts[0])
    assert estimate_request(request) == estimate_tokens(texts)
    assert estimate_text("x" * 400) == 104


def test_calibration_learns_the_ratio_per_model_and_lends_it_to_the_provider() -> None:
    cal = Calibration(alpha=0.5)
    assert cal.ratio("m") == 1.0
    for _ in range(12):
        cal.observe("m", "p", estimated=1000, actual=1300)
    assert cal.ratio("m") == pytest.approx(1.3, abs=0.01)
    assert cal.ratio("unseen", "p") == pytest.approx(1.3, abs=0.01)
    assert cal.ratio("unseen", "other") == 1.0


def test_calibration_ignores_empty_usage_and_clamps_outliers() -> None:
    cal = Calibration(alpha=1.0, ceiling=4.0)
    cal.observe("m", None, estimated=1000, actual=0)  # a cache hit says nothing
    assert cal.ratio("m") == 1.0
    cal.observe("m", None, estimated=10, actual=10_000)
    assert cal.ratio("m") == 4.0


def test_counter_estimate_follows_observed_usage() -> None:
    counter = TokenCounter(Calibration(alpha=1.0))
    request = _request("x" * 4000)
    raw = estimate_request(request)
    counter.observe(request, "m", "p", Usage(input_tokens=raw, cache_read_tokens=raw))
    assert counter.estimate(request, "m") == 2 * raw


async def test_anthropic_count_endpoint_through_the_sdk(simulator) -> None:
    count = AnthropicCount("sim-key", simulator.url)
    try:
        request = _request("hello " * 300, "an answer", "more", system="be brief")
        assert await count.count(request, "claude-sonnet-4-6") == estimate_request(request)
    finally:
        await count.aclose()


async def test_gemini_count_endpoint_through_the_sdk(simulator) -> None:
    count = GeminiCount("sim-key", simulator.url)
    try:
        request = _request("hello " * 300, "an answer", "more", system="be brief")
        assert await count.count(request, "gemini-2.5-flash") == estimate_request(request)
    finally:
        await count.aclose()


async def test_a_failing_endpoint_falls_back_to_the_estimate(simulator) -> None:
    from agentqueue.core.base.ports import free_port

    dead = AnthropicCount("k", f"http://127.0.0.1:{free_port()}", timeout=2)
    counter = TokenCounter(Calibration(), {"anthropic": dead})
    request = _request("y" * 800)
    try:
        assert await counter.count(request, "claude-sonnet-4-6", "anthropic") == estimate_request(
            request
        )
    finally:
        await counter.aclose()

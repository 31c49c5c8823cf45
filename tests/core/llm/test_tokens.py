"""Token counting: the local estimate, its calibration, and the providers' count endpoints
(the simulator implements Anthropic's and Gemini's through the official SDKs)."""

import pytest

from agentqueue.core.llm.messages import ChatMessage, CompletionRequest, ToolSpec, Usage
from agentqueue.core.llm.tokenizers import counter_named
from agentqueue.core.llm.tokens import (
    AnthropicCount,
    Calibration,
    GeminiCount,
    TokenCounter,
    estimate_request,
    estimate_text,
)
from agentqueue.simulator.text import estimate_tokens

#: How the simulator counts by default: Google with o200k_base, Anthropic with cl100k_base
#: (a stand-in for Claude's unpublished tokenizer that disagrees with ours by content).
GOOGLE = counter_named("o200k_base")
ANTHROPIC = counter_named("cl100k_base")


def _request(*texts: str, system: str | None = None) -> CompletionRequest:
    roles = ["user", "assistant"]
    return CompletionRequest(
        messages=[ChatMessage(role=roles[i % 2], content=t) for i, t in enumerate(texts)],  # type: ignore[arg-type]
        system=system,
    )


def test_the_simulator_counts_as_the_real_tokenizer_does() -> None:
    texts = ["a" * 1, "Bonjour, ça va ?", "東京の天気は?", '{"id": 7, "ok": true}']
    request = _request(*texts[1:], system=texts[0])
    assert estimate_request(request, GOOGLE) == estimate_tokens(texts)
    assert estimate_request(request) == estimate_tokens(texts)  # o200k_base by default


def test_the_default_count_is_content_aware() -> None:
    """Japanese and JSON no longer count a quarter of their characters."""
    japanese = "東京都の明日の天気予報を教えてください。傘は必要ですか?" * 10
    document = '{"id": "a1b2", "items": [1, 2, 3], "ok": true, "score": 0.93}' * 10
    assert estimate_text(japanese) - 4 > 2 * len(japanese) / 4
    assert estimate_text(document) - 4 > 1.5 * len(document) / 4


def test_the_counter_learns_how_a_provider_counts_each_kind_of_content() -> None:
    """A provider counting with another tokenizer (cl100k_base: Japanese far higher,
    English about the same) is matched per content class after a few responses."""
    counter = TokenCounter(Calibration(alpha=0.5))
    japanese = _request("会議の議事録を要約して、決定事項を箇条書きにしてください。" * 24)
    english = _request("Summarise the minutes of the meeting as a list of decisions. " * 24)
    other_japanese = _request("来週の出張の日程と、必要な準備を教えてください。" * 24)
    for request in (japanese, english) * 8:
        actual = estimate_request(request, ANTHROPIC)
        counter.observe(request, "claude-x", "anthropic", Usage(input_tokens=actual))
    for request in (other_japanese, english):
        real = estimate_request(request, ANTHROPIC)
        assert abs(counter.estimate(request, "claude-x", "anthropic") / real - 1) < 0.15
    assert estimate_request(other_japanese) < 0.8 * estimate_request(other_japanese, ANTHROPIC)


def test_calibration_learns_the_ratio_per_model_and_lends_it_to_the_provider() -> None:
    cal = Calibration(alpha=0.5)
    assert cal.ratio("m") == 1.0
    for _ in range(12):
        cal.observe("m", "p", estimated=1000, actual=1300)
    assert cal.ratio("m") == pytest.approx(1.3, abs=0.01)
    assert cal.ratio("unseen", "p") == pytest.approx(1.3, abs=0.01)
    assert cal.ratio("unseen", "other") == 1.0


def test_calibration_is_per_content_class_before_per_model() -> None:
    cal = Calibration(alpha=1.0)
    cal.observe("m", "p", estimated=1000, actual=1500, kind="kana")
    cal.observe("m", "p", estimated=1000, actual=1000, kind="latin")
    assert cal.ratio("m", "p", "kana") == 1.5
    assert cal.ratio("m", "p", "latin") == 1.0
    assert cal.ratio("m", "p", "han") == 1.0  # the model's latest, over every class


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
        expected = estimate_request(request, ANTHROPIC)
        assert await count.count(request, "claude-sonnet-4-6") == expected
    finally:
        await count.aclose()


async def test_gemini_count_endpoint_through_the_sdk(simulator) -> None:
    count = GeminiCount("sim-key", simulator.url)
    try:
        request = _request("hello " * 300, "an answer", "more", system="be brief")
        expected = estimate_request(request, GOOGLE)
        assert await count.count(request, "gemini-2.5-flash") == expected
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


def test_short_requests_and_tool_calls_do_not_calibrate() -> None:
    """A provider's fixed costs per request (a tool-use preamble) are not a ratio: a short
    turn reporting 400 tokens for our 60 must not quadruple every later count."""
    counter = TokenCounter(Calibration(alpha=1.0))
    short = _request("Look up the weather in Paris.")  # 7 tokens
    counter.observe(short, "m", "p", Usage(input_tokens=400))
    with_tools = CompletionRequest(
        messages=[ChatMessage(role="user", content="word " * 600)],
        tools=[ToolSpec(name="fetch", description="Fetch a page")],
    )
    counter.observe(with_tools, "m", "p", Usage(input_tokens=4 * 620))
    assert counter.calibration.ratio("m", "p") == 1.0

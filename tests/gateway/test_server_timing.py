"""``Server-Timing`` on the gateway's answers (``gateway/server_timing.py``): where a
first token's time went — the cache, the budget, a provider that failed, the provider
that answered — read with the official SDKs' raw responses."""

from __future__ import annotations

from typing import Any

import anthropic
import openai

HI = [{"role": "user", "content": "Where did the time go?"}]


def phases(header: str | None) -> dict[str, float]:
    """``{"provider": 212.3, "total": 220.1, …}`` from a ``Server-Timing`` value."""
    assert header, "no Server-Timing header"
    out = {}
    for entry in header.split(","):
        name, _, params = entry.strip().partition(";")
        assert params.startswith("dur="), entry
        out[name] = float(params.removeprefix("dur="))
    return out


async def test_a_stream_says_its_first_token_was_the_providers_time(
    claude: anthropic.AsyncAnthropic, simulator: Any
) -> None:
    simulator.configure({"anthropic": {"speed": 1.0, "ttft_ms": 150}})
    async with claude.messages.with_streaming_response.create(
        model="claude-sonnet-4-6", max_tokens=20, messages=HI, stream=True
    ) as raw:
        timing = phases(raw.headers.get("server-timing"))
        [event async for event in await raw.parse()]
    # the header leaves with the first byte: the provider's first token is inside it
    assert timing["provider"] >= 140
    assert timing["total"] >= timing["provider"] + timing.get("budget", 0.0)
    assert "failed" not in timing


async def test_a_fallback_shows_the_failed_attempts_time(
    oai: openai.AsyncOpenAI, simulator: Any
) -> None:
    simulator.configure({"anthropic": {"outage": True}})
    raw = await oai.chat.completions.with_raw_response.create(
        model="claude-sonnet-4-6", messages=HI, max_tokens=20
    )
    timing = phases(raw.headers.get("server-timing"))
    assert raw.parse().model.startswith("gpt-")
    assert timing["failed"] > 0 and timing["provider"] > 0


async def test_a_cache_hit_spends_no_provider_time(oai: openai.AsyncOpenAI, simulator: Any) -> None:
    ask: dict[str, Any] = {"model": "gpt-4.1", "messages": HI, "max_tokens": 20, "temperature": 0}
    first = await oai.chat.completions.with_raw_response.create(**ask)
    again = await oai.chat.completions.with_raw_response.create(**ask)
    assert again.headers.get("x-agentqueue-cache") == "exact"
    bought, hit = (
        phases(first.headers.get("server-timing")),
        phases(again.headers.get("server-timing")),
    )
    assert "provider" in bought and "cache" in bought
    assert "provider" not in hit and "cache" in hit


async def test_every_answer_has_one_even_a_refusal(claude: anthropic.AsyncAnthropic) -> None:
    bad = anthropic.AsyncAnthropic(base_url=str(claude.base_url), api_key="wrong", max_retries=0)
    try:
        raw = await bad.messages.with_raw_response.count_tokens(
            model="claude-sonnet-4-6", messages=HI
        )
    except anthropic.AuthenticationError as exc:
        timing = phases(exc.response.headers.get("server-timing"))
    else:  # pragma: no cover - the key is wrong
        raise AssertionError(f"answered {raw.status_code}")
    assert set(timing) == {"total"}
    await bad.close()

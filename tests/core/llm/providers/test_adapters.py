"""Every adapter, through its official SDK, against the simulator: same tests for each."""

from collections.abc import AsyncIterator

import pytest

from agentqueue.core.base.errors import (
    ContextTooLong,
    Overloaded,
    ProviderAuthError,
    ProviderError,
    ProviderServerError,
    ProviderTimeout,
    RateLimited,
)
from agentqueue.core.base.ports import free_port
from agentqueue.core.calls.registry import build_provider
from agentqueue.core.llm.catalog import load_catalog
from agentqueue.core.llm.messages import ChatMessage, Completion, CompletionRequest, TextDelta, Tier
from agentqueue.core.llm.providers.base import Provider, ProviderConfig

PROVIDERS = ["anthropic", "openai", "google"]
PATHS = {"anthropic": "", "openai": "/v1", "google": ""}
REQUEST = CompletionRequest(messages=[ChatMessage(role="user", content="Say hi")], max_tokens=50)


def _config(name: str, url: str, key: str | None = None) -> ProviderConfig:
    return ProviderConfig(
        name=name, api_key=key or f"test-{name}", base_url=url + PATHS[name], timeout=5
    )


@pytest.fixture(params=PROVIDERS)
async def provider(request: pytest.FixtureRequest, simulator) -> AsyncIterator[Provider]:
    p = build_provider(_config(request.param, simulator.url))
    yield p
    await p.aclose()


def _model(p: Provider) -> str:
    return load_catalog().default_model(p.name, Tier.FRONTIER).model


async def _collect(p: Provider, request: CompletionRequest) -> list[TextDelta | Completion]:
    return [e async for e in p.stream(request, _model(p))]


async def test_complete_returns_text_and_usage(provider: Provider, simulator) -> None:
    result = await provider.complete(REQUEST, _model(provider))
    assert result.provider == provider.name and result.model == _model(provider)
    assert result.text.startswith(f"Simulated {_model(provider)} reply")
    assert result.usage.input_tokens > 0 and 0 < result.usage.output_tokens <= 50
    assert simulator.stats()["providers"][provider.name]["ok"] == 1


async def test_stream_yields_deltas_then_the_same_answer(provider: Provider) -> None:
    whole = await provider.complete(REQUEST, _model(provider))
    events = await _collect(provider, REQUEST)
    deltas = [e for e in events[:-1] if isinstance(e, TextDelta)]
    final = events[-1]
    assert isinstance(final, Completion) and len(deltas) > 1
    assert "".join(d.text for d in deltas) == final.text == whole.text
    assert final.usage.output_tokens == whole.usage.output_tokens > 0


async def test_system_prompt_and_history_reach_the_model(provider: Provider) -> None:
    plain = await provider.complete(REQUEST, _model(provider))
    with_system = await provider.complete(
        REQUEST.model_copy(update={"system": "Be terse."}), _model(provider)
    )
    history = REQUEST.model_copy(
        update={
            "messages": [
                ChatMessage(role="user", content="Say hi"),
                ChatMessage(role="assistant", content="Hi"),
                ChatMessage(role="user", content="Again"),
            ]
        }
    )
    multi = await provider.complete(history, _model(provider))
    assert with_system.usage.input_tokens > plain.usage.input_tokens
    assert multi.usage.input_tokens > plain.usage.input_tokens
    assert len({plain.text, with_system.text, multi.text}) == 3


async def test_rate_limit_carries_retry_after(provider: Provider, simulator) -> None:
    simulator.configure({"all": {"rpm": 1}})
    await provider.complete(REQUEST, _model(provider))
    with pytest.raises(RateLimited) as info:
        await provider.complete(REQUEST, _model(provider))
    assert info.value.status == 429 and info.value.provider == provider.name
    assert info.value.retry_after is not None and 1 <= info.value.retry_after <= 61


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ({"outage": True}, Overloaded),
        ({"error_rate": 1.0}, ProviderServerError),
        ({"overload_rate": 1.0}, Overloaded),
    ],
)
async def test_faults_become_our_errors(
    provider: Provider, simulator, fault: dict[str, object], error: type
) -> None:
    simulator.configure({provider.name: fault})
    with pytest.raises(error) as info:
        await provider.complete(REQUEST, _model(provider))
    assert info.value.retryable and info.value.trips_breaker
    with pytest.raises(error):
        await _collect(provider, REQUEST)


async def test_mid_stream_failure_is_raised_as_our_error(provider: Provider, simulator) -> None:
    simulator.configure({provider.name: {"mid_stream_error_rate": 1.0}})
    received: list[TextDelta | Completion] = []
    with pytest.raises(ProviderError) as info:
        async for event in provider.stream(REQUEST, _model(provider)):
            received.append(event)
    assert received and all(isinstance(e, TextDelta) for e in received)
    assert type(info.value) in (Overloaded, ProviderServerError)


async def test_bad_key_is_an_auth_error(simulator) -> None:
    for name in PROVIDERS:
        p = build_provider(_config(name, simulator.url, key="bad-key"))
        with pytest.raises(ProviderAuthError) as info:
            await p.complete(REQUEST, "m")
        assert not info.value.retryable and "bad-key" not in str(info.value)
        await p.aclose()


async def test_prompt_over_the_window_is_context_too_long(provider: Provider) -> None:
    huge = CompletionRequest(messages=[ChatMessage(role="user", content="lorem ipsum " * 150_000)])
    with pytest.raises(ContextTooLong) as info:
        await provider.complete(huge, _model(provider))
    assert not info.value.retryable and not info.value.trips_breaker


async def test_nothing_listening_is_a_timeout() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    for name in PROVIDERS:
        p = build_provider(_config(name, url))
        with pytest.raises(ProviderTimeout):
            await p.complete(REQUEST, "m")
        with pytest.raises(ProviderTimeout):
            await _collect(p, REQUEST)
        await p.aclose()

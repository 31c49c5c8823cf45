"""Every deployment kind through its official SDK client, against the simulator.

Each adapter is built from a :class:`ProviderConfig` of one kind (``AsyncAzureOpenAI``,
``AsyncAnthropicBedrock`` with SigV4, ``AsyncAnthropicVertex``, ``genai.Client`` on Vertex…)
pointed at ``simulated_base_url``; the simulator serves that kind's URL shapes, headers
and errors and counts each named deployment apart, with limits of its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from agentqueue.core.base.errors import Overloaded, ProviderAuthError, RateLimited
from agentqueue.core.calls.registry import build_provider
from agentqueue.core.config.schema import DeploymentKind
from agentqueue.core.llm.catalog import load_catalog
from agentqueue.core.llm.messages import ChatMessage, Completion, CompletionRequest, TextDelta, Tier
from agentqueue.core.llm.providers.base import Provider, ProviderConfig
from agentqueue.core.llm.providers.clients import MissingExtra, simulated_base_url
from agentqueue.simulator.settings import DeploymentLimits, SimulatorSettings
from agentqueue.simulator.testing import SimulatorHandle, running_simulator

KINDS = [k.value for k in DeploymentKind]
REQUEST = CompletionRequest(messages=[ChatMessage(role="user", content="Say hi")], max_tokens=40)


def _model(kind: str) -> str:
    return load_catalog().default_model(DeploymentKind(kind).protocol, Tier.FRONTIER).model


#: What each kind needs beyond a base URL and a key, and the id it knows the model by.
def _extra(kind: str) -> dict[str, Any]:
    model = _model(kind)
    if kind == "azure-openai":
        return {"api_version": "2024-10-21", "model_names": {model: "gpt-prod-eu"}}
    if kind == "anthropic-bedrock":
        return {
            "api_key": "",
            "region": "eu-central-1",
            "aws_access_key_id": "AKIDSIMULATED",
            "aws_secret_access_key": "not-checked",
            "model_names": {model: f"eu.anthropic.{model}-v1:0"},
        }
    if kind == "anthropic-vertex":
        return {"region": "europe-west1", "project": "sim-project"}
    if kind == "vertex-gemini":
        return {"region": "europe-west4", "project": "sim-project"}
    return {}


def config_for(url: str, kind: str, deployment: str, **changes: Any) -> ProviderConfig:
    fields: dict[str, Any] = {
        "name": DeploymentKind(kind).protocol,
        "kind": kind,
        "deployment": deployment,
        "api_key": f"key-{deployment}",
        "base_url": simulated_base_url(url, kind, deployment),
        "timeout": 5,
        "simulated": True,
        **_extra(kind),
        **changes,
    }
    return ProviderConfig(**fields)


@pytest.fixture(scope="module")
def sim_server() -> Iterator[SimulatorHandle]:
    """A simulator whose ``tiny-*`` deployments take one request a minute."""
    tiny = {f"tiny-{kind}": DeploymentLimits(rpm=1) for kind in KINDS}
    with running_simulator(SimulatorSettings(speed=0, seed=1, deployments=tiny)) as handle:
        yield handle


@pytest.fixture
def sim(sim_server: SimulatorHandle) -> SimulatorHandle:
    sim_server.reset()
    return sim_server


@pytest.fixture(params=KINDS)
async def provider(request: pytest.FixtureRequest, sim: SimulatorHandle) -> AsyncIterator[Provider]:
    p = build_provider(config_for(sim.url, request.param, f"eu-{request.param}"))
    yield p
    await p.aclose()


async def test_complete_through_the_kinds_own_client(
    provider: Provider, sim: SimulatorHandle
) -> None:
    kind, model = provider.config.kind, _model(provider.config.kind)
    result = await provider.complete(REQUEST, model)
    # the simulator saw the deployment's own id; the completion names the catalog's model
    assert result.text.startswith(f"Simulated {provider.config.remote_model(model)} reply")
    assert result.provider == provider.name and result.model == model
    assert result.usage.input_tokens > 0 and 0 < result.usage.output_tokens <= 40
    counted = sim.stats()["deployments"][f"eu-{kind}"]
    assert counted["ok"] == 1 and counted["output_tokens"] == result.usage.output_tokens
    assert provider.deployment == f"eu-{kind}"


async def test_stream_through_the_kinds_own_client(
    provider: Provider, sim: SimulatorHandle
) -> None:
    model = _model(provider.config.kind)
    whole = await provider.complete(REQUEST, model)
    events = [e async for e in provider.stream(REQUEST, model)]
    deltas = [e for e in events[:-1] if isinstance(e, TextDelta)]
    final = events[-1]
    assert isinstance(final, Completion) and len(deltas) > 1
    assert "".join(d.text for d in deltas) == final.text == whole.text
    assert final.model == model and final.usage.output_tokens == whole.usage.output_tokens > 0
    assert final.usage.input_tokens == whole.usage.input_tokens > 0
    assert sim.stats()["deployments"][provider.deployment]["ok"] == 2


async def test_azure_rate_limit_headers_reach_the_snapshot(sim: SimulatorHandle) -> None:
    provider = build_provider(config_for(sim.url, "azure-openai", "azure-eu"))
    try:
        first = await provider.complete(REQUEST, _model("azure-openai"))
        second = await provider.complete(REQUEST, _model("azure-openai"))
    finally:
        await provider.aclose()
    assert first.rate_limit is not None and second.rate_limit is not None
    assert first.rate_limit.remaining_requests == 999
    assert second.rate_limit.remaining_requests == 998
    assert first.rate_limit.remaining_tokens is not None
    assert second.rate_limit.remaining_tokens is not None
    # counted (below the limit); between two calls the bucket may refill a call's worth
    assert second.rate_limit.remaining_tokens <= first.rate_limit.remaining_tokens < 400_000


@pytest.mark.parametrize("kind", KINDS)
async def test_a_deployments_own_limit_is_its_own(kind: str, sim: SimulatorHandle) -> None:
    """The tiny deployment's second call is a 429 in the kind's own shape, translated to
    RateLimited; another deployment of the same kind (same key, same model) answers."""
    model = _model(kind)
    tiny = build_provider(config_for(sim.url, kind, f"tiny-{kind}", api_key="shared"))
    other = build_provider(config_for(sim.url, kind, f"roomy-{kind}", api_key="shared"))
    try:
        await tiny.complete(REQUEST, model)
        with pytest.raises(RateLimited) as caught:
            await tiny.complete(REQUEST, model)
        assert caught.value.provider == tiny.name and caught.value.model == model
        assert (await other.complete(REQUEST, model)).text
        with pytest.raises(RateLimited):  # streamed, before the first token
            [e async for e in tiny.stream(REQUEST, model)]
    finally:
        await tiny.aclose()
        await other.aclose()
    deployments = sim.stats()["deployments"]
    assert deployments[f"tiny-{kind}"]["ok"] == 1
    assert deployments[f"tiny-{kind}"]["rate_limited"] == 2
    assert deployments[f"roomy-{kind}"] == {**deployments[f"roomy-{kind}"], "ok": 1}


async def test_azure_and_openai_429s_carry_the_wait(sim: SimulatorHandle) -> None:
    provider = build_provider(config_for(sim.url, "azure-openai", "tiny-azure-openai"))
    try:
        await provider.complete(REQUEST, _model("azure-openai"))
        with pytest.raises(RateLimited) as caught:
            await provider.complete(REQUEST, _model("azure-openai"))
    finally:
        await provider.aclose()
    assert caught.value.retry_after is not None and caught.value.retry_after > 0


@pytest.mark.parametrize("kind", KINDS)
async def test_a_bad_key_is_an_auth_error_in_every_kind(kind: str, sim: SimulatorHandle) -> None:
    bad = (
        {"aws_access_key_id": "bad-akid"} if kind == "anthropic-bedrock" else {"api_key": "bad-key"}
    )
    provider = build_provider(config_for(sim.url, kind, f"eu-{kind}", **bad))
    try:
        with pytest.raises(ProviderAuthError):
            await provider.complete(REQUEST, _model(kind))
    finally:
        await provider.aclose()


async def test_bedrock_mid_stream_error_arrives_as_an_exception_frame(sim: SimulatorHandle) -> None:
    sim.configure({"anthropic": {"mid_stream_error_rate": 1.0}})
    provider = build_provider(config_for(sim.url, "anthropic-bedrock", "eu-bedrock"))
    seen: list[object] = []
    try:
        with pytest.raises(Overloaded):
            async for event in provider.stream(REQUEST, _model("anthropic-bedrock")):
                seen.append(event)
    finally:
        await provider.aclose()
    assert seen and all(isinstance(e, TextDelta) for e in seen)  # it had begun


async def test_bedrock_with_an_api_key_sends_a_bearer_token(sim: SimulatorHandle) -> None:
    provider = build_provider(
        config_for(
            sim.url,
            "anthropic-bedrock",
            "eu-bedrock",
            api_key="bedrock-api-key",
            aws_access_key_id=None,
            aws_secret_access_key=None,
        )
    )
    try:
        assert (await provider.complete(REQUEST, _model("anthropic-bedrock"))).text
    finally:
        await provider.aclose()
    assert sim.stats()["calls"][-1]["key_hint"] == "bedrock-"


@pytest.mark.parametrize("kind", ["azure-openai", "openai-compatible", "anthropic-vertex"])
async def test_sse_kinds_pass_their_streams_through(kind: str, sim: SimulatorHandle) -> None:
    from agentqueue.core.llm.providers.base import Passthrough

    provider = build_provider(config_for(sim.url, kind, f"eu-{kind}"))
    model = _model(kind)
    try:
        events = [
            e
            async for e in provider.stream_raw(REQUEST, model, Passthrough(protocol=provider.name))
        ]
    finally:
        await provider.aclose()
    final = events[-1]
    # the provider's own bytes (as many reads as the transport made), then the Completion
    assert all(isinstance(e, bytes) for e in events[:-1])
    assert b"".join(events[:-1]).count(b"data: ") > 2  # type: ignore[arg-type]
    assert isinstance(final, Completion) and final.model == model
    assert final.text.startswith(f"Simulated {provider.config.remote_model(model)} reply")


def test_bedrock_streams_are_never_passed_through_as_bytes() -> None:
    from agentqueue.core.llm.providers.base import Passthrough

    url = "http://127.0.0.1:9"
    bedrock = build_provider(config_for(url, "anthropic-bedrock", "b"))
    vertex = build_provider(config_for(url, "anthropic-vertex", "v"))
    anthropic_caller = Passthrough(protocol="anthropic")
    assert not bedrock.passes_through(REQUEST, anthropic_caller)
    assert vertex.passes_through(REQUEST, anthropic_caller)


def test_simulated_base_urls_name_the_deployment() -> None:
    url = "http://sim:8090/"
    assert simulated_base_url(url, "openai", "a") == "http://sim:8090/d/a/v1"
    assert simulated_base_url(url, "openai-compatible", "vllm") == "http://sim:8090/d/vllm/v1"
    assert simulated_base_url(url, "azure-openai", "az") == "http://sim:8090/d/az"
    assert simulated_base_url(url, "anthropic-bedrock", "b") == "http://sim:8090/d/b"
    assert simulated_base_url(url, "anthropic-vertex", "v") == "http://sim:8090/d/v/v1"
    assert simulated_base_url(url, "vertex-gemini", "g") == "http://sim:8090/d/g"
    with pytest.raises(ValueError):
        simulated_base_url(url, "mistral", "m")


def test_config_checks_kind_against_family_and_hides_secrets() -> None:
    with pytest.raises(ValueError, match="speaks anthropic"):
        ProviderConfig(name="openai", api_key="k", kind="anthropic-bedrock")
    with pytest.raises(ValueError, match="unknown deployment kind"):
        ProviderConfig(name="openai", api_key="k", kind="bedrock")
    assert ProviderConfig(name="google", api_key="k").kind == "gemini"
    config = ProviderConfig(
        name="anthropic",
        api_key="sk-secret",
        kind="anthropic-bedrock",
        aws_access_key_id="AKIDSECRET",
        aws_secret_access_key="very-secret",
        model_names={"claude-x": "anthropic.claude-x-v1:0"},
    )
    assert "secret" not in repr(config).lower() and "AKID" not in repr(config)
    assert config.remote_model("claude-x") == "anthropic.claude-x-v1:0"
    assert config.remote_model("claude-y") == "claude-y"


def test_a_missing_extra_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "botocore" else real(name, *a)
    )
    with pytest.raises(MissingExtra, match=r"agentqueue\[bedrock\]"):
        build_provider(config_for("http://127.0.0.1:9", "anthropic-bedrock", "b"))


@pytest.mark.parametrize("http", ["aiohttp", "httpx"])
@pytest.mark.parametrize("kind", ["openai", "azure-openai", "anthropic"])
async def test_each_http_client_completes_and_streams(
    kind: str, http: str, sim: SimulatorHandle
) -> None:
    """``AGENTQUEUE_PROVIDER_HTTP``: the SDK's aiohttp transport (the default) or its httpx
    one, the same answers either way, a stream's bytes passed through."""
    from agentqueue.core.llm.providers.base import Passthrough

    provider = build_provider(config_for(sim.url, kind, f"eu-{kind}-{http}", http=http))
    model = _model(kind)
    transport = type(provider._client._client._transport).__name__  # type: ignore[attr-defined]
    assert (transport == "AiohttpTransport") == (http == "aiohttp"), transport
    try:
        assert (await provider.complete(REQUEST, model)).text.startswith("Simulated")
        events = [
            e
            async for e in provider.stream_raw(REQUEST, model, Passthrough(protocol=provider.name))
        ]
    finally:
        await provider.aclose()
    assert b"".join(events[:-1]).count(b"data: ") > 2  # type: ignore[arg-type]
    assert isinstance(events[-1], Completion) and events[-1].usage.output_tokens > 0

"""The official SDK client for each deployment kind, built in one place.

A deployment's kind says which official client reaches it: ``openai.AsyncOpenAI`` (OpenAI,
and vLLM/Ollama/TGI behind ``openai-compatible``), ``openai.AsyncAzureOpenAI``,
``anthropic.AsyncAnthropic`` / ``AsyncAnthropicBedrock`` / ``AsyncAnthropicVertex``, and
``google.genai.Client`` for the Gemini API or Vertex AI. Each adapter asks here for its
client, so an adapter speaks one protocol whatever the cloud behind it. Every client has
the SDK's retries off (our limiter, retries and fallback are the only ones in control) and
the deployment's timeout.

Bedrock needs ``botocore`` (SigV4 signing, the AWS event-stream decoder) and Anthropic on
Vertex ``google-auth``: the ``bedrock`` and ``vertex`` extras. They are imported only when
such a deployment is built, and a missing one is an error naming the extra.

:func:`simulated_base_url` is where a simulated deployment of each kind points: the
simulator tells deployments apart by the ``/d/{deployment}`` path prefix.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Any, TypeAlias

from agentqueue.core.base.errors import AgentQueueError
from agentqueue.core.config.schema import DeploymentKind
from agentqueue.core.llm.providers.base import ProviderConfig

if TYPE_CHECKING:
    import anthropic
    import openai
    from google import genai

    AnthropicClient: TypeAlias = (
        anthropic.AsyncAnthropic | anthropic.AsyncAnthropicBedrock | anthropic.AsyncAnthropicVertex
    )

#: After the simulator's ``/d/{deployment}`` prefix, the path each kind's SDK expects its
#: base URL to end with (OpenAI's and Anthropic-on-Vertex's include the API version).
SIMULATED_PATHS = {
    DeploymentKind.OPENAI: "/v1",
    DeploymentKind.OPENAI_COMPATIBLE: "/v1",
    DeploymentKind.AZURE_OPENAI: "",
    DeploymentKind.ANTHROPIC: "",
    DeploymentKind.ANTHROPIC_BEDROCK: "",
    DeploymentKind.ANTHROPIC_VERTEX: "/v1",
    DeploymentKind.GEMINI: "",
    DeploymentKind.VERTEX_GEMINI: "",
}


class MissingExtra(AgentQueueError):
    """A deployment kind whose SDK client needs a package that is not installed."""


def simulated_base_url(simulator_url: str, kind: str, deployment: str) -> str:
    """The base URL a simulated ``kind`` deployment named ``deployment`` is given.

    ``{simulator}/d/{deployment}`` and the path the kind's SDK expects after its host:
    ``/v1`` for OpenAI and openai-compatible, and for Anthropic on Vertex; nothing for
    the others (the Azure client appends ``/openai/deployments/…``, Bedrock's
    ``/model/…``, google-genai its API version).
    """
    path = SIMULATED_PATHS[DeploymentKind(kind)]
    return f"{simulator_url.rstrip('/')}/d/{deployment}{path}"


def _require(module: str, extra: str, kind: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise MissingExtra(
            f"a {kind} deployment needs {module}: install agentqueue[{extra}] "
            f"(or anthropic[{extra}])"
        )


def _http_client(sdk: Any, config: ProviderConfig) -> Any:
    """The SDK's own aiohttp-backed client when ``config.http`` asks for it, else None
    (the SDK's default, httpx). Why aiohttp: a stream passed through reads a chunk at a
    time, and httpx's reads (anyio cancel scopes and timeouts per read) were a fifth of
    the gateway's CPU at 64 streams; the SDK's aiohttp transport cut its CPU per stream
    by a quarter (bench/gateway). Its errors are mapped to httpx's, so an adapter
    translates them as before."""
    if config.http != "aiohttp":
        return None
    return sdk.DefaultAioHttpClient(timeout=config.timeout)


def openai_client(config: ProviderConfig) -> openai.AsyncOpenAI:
    """``AsyncAzureOpenAI`` for ``azure-openai`` (endpoint = base URL, ``api-version``,
    ``api-key``), ``AsyncOpenAI`` otherwise (an openai-compatible server may want no
    key: a placeholder is sent)."""
    import openai

    if config.kind == DeploymentKind.AZURE_OPENAI:
        if not config.base_url:
            raise ValueError("an azure-openai deployment needs base_url (its endpoint)")
        return openai.AsyncAzureOpenAI(
            azure_endpoint=config.base_url,
            api_version=config.api_version,
            api_key=config.api_key,
            timeout=config.timeout,
            max_retries=0,
            http_client=_http_client(openai, config),
        )
    return openai.AsyncOpenAI(
        api_key=config.api_key or "none",
        base_url=config.base_url,
        timeout=config.timeout,
        max_retries=0,
        http_client=_http_client(openai, config),
    )


def anthropic_client(config: ProviderConfig) -> AnthropicClient:
    """``AsyncAnthropicBedrock`` (AWS keys if given, else the api key as a Bedrock API key,
    else the AWS default chain), ``AsyncAnthropicVertex`` (the api key as an access
    token, else google-auth's default credentials), or ``AsyncAnthropic``."""
    import anthropic

    if config.kind == DeploymentKind.ANTHROPIC_BEDROCK:
        _require("botocore", "bedrock", config.kind)
        aws_keys = config.aws_access_key_id is not None or config.aws_secret_access_key is not None
        return anthropic.AsyncAnthropicBedrock(
            aws_region=config.region,
            aws_access_key=config.aws_access_key_id,
            aws_secret_key=config.aws_secret_access_key,
            api_key=None if aws_keys else (config.api_key or None),
            base_url=config.base_url,
            timeout=config.timeout,
            max_retries=0,
        )
    if config.kind == DeploymentKind.ANTHROPIC_VERTEX:
        if not config.api_key:
            _require("google.auth", "vertex", config.kind)
        if not config.region:
            raise ValueError("an anthropic-vertex deployment needs region")
        return anthropic.AsyncAnthropicVertex(
            region=config.region,
            project_id=config.project or anthropic.NOT_GIVEN,
            access_token=config.api_key or None,
            base_url=config.base_url,
            timeout=config.timeout,
            max_retries=0,
        )
    return anthropic.AsyncAnthropic(
        api_key=config.api_key,
        base_url=config.base_url,
        timeout=config.timeout,
        max_retries=0,
        http_client=_http_client(anthropic, config),
    )


def google_client(config: ProviderConfig) -> genai.Client:
    """``genai.Client`` for the Gemini API (api key), or with ``vertexai=True`` for
    ``vertex-gemini``: with a project, at ``region``, the api key taken as an OAuth access
    token (none: google-auth's default credentials); without one, the api key in Vertex's
    express mode. One attempt (the SDK would otherwise retry connection errors on its own,
    after 1-10 s sleeps, hiding an outage from our breaker)."""
    from google import genai
    from google.genai import types

    options = types.HttpOptions(
        base_url=config.base_url,
        timeout=int(config.timeout * 1000),
        retry_options=types.HttpRetryOptions(attempts=1),
    )
    if config.kind != DeploymentKind.VERTEX_GEMINI:
        return genai.Client(api_key=config.api_key, http_options=options)
    if not config.project:  # express mode: an API key, no project or location
        return genai.Client(vertexai=True, api_key=config.api_key, http_options=options)
    credentials = None
    if config.api_key:
        from google.oauth2.credentials import Credentials

        credentials = Credentials(token=config.api_key)  # type: ignore[no-untyped-call]
    return genai.Client(
        vertexai=True,
        project=config.project,
        location=config.region or "global",
        credentials=credentials,
        http_options=options,
    )

"""The one interface every LLM provider adapter implements.

An adapter wraps one official SDK client (with the SDK's own retries disabled, so that
our limiter, retries and fallback are the only ones in control), translates our
:class:`~agentqueue.core.llm.messages.CompletionRequest` into the SDK call, and translates
every SDK error into :mod:`agentqueue.core.base.errors` at exactly one place: its
``_translate`` function.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from agentqueue.core.config.schema import DeploymentKind
from agentqueue.core.llm.messages import Completion, CompletionRequest, StreamEvent
from agentqueue.core.llm.rate_headers import snapshot_from_headers

#: What a pass-through stream yields: the provider's own SSE bytes as they arrive, then
#: one :class:`Completion` read from them once the stream has ended.
RawEvent = bytes | Completion


@dataclass(frozen=True)
class Passthrough:
    """A caller that speaks ``protocol`` and takes the provider's own stream, byte for byte.

    Parsing every chunk into the SDK's objects and encoding it again was half of the
    gateway's CPU per stream; when the caller and the provider speak the same protocol the
    provider's bytes are already the answer. The request sent is still built from the
    core request (so the answer is the one the cache key describes); only the answer
    skips the translation.
    """

    #: The wire protocol of the caller: ``openai`` (Chat Completions) or ``anthropic``.
    protocol: str
    #: Body fields outside the core request, sent on this path only (OpenAI's
    #: ``reasoning_effort``, ``logprobs``, ``top_logprobs``).
    extra: Mapping[str, Any] = field(default_factory=dict)
    #: OpenAI: the caller did not ask for the usage chunk. It is asked for anyway (the
    #: limiter and the ledger need the real usage) and cut out of what the caller sees.
    hide_usage: bool = False
    #: Only providers that pass through may answer: the request asks for something the
    #: translated path cannot give (``logprobs``). The cache is bypassed too.
    required: bool = False


#: The kind a protocol family's plain deployment is (the provider's own API).
PLAIN_KINDS = {"openai": "openai", "anthropic": "anthropic", "google": "gemini"}
#: Kinds whose streams are not SSE (Bedrock's AWS event stream): their bytes are never
#: passed through to a caller as they are.
BINARY_STREAM_KINDS = frozenset({"anthropic-bedrock"})


@dataclass(frozen=True)
class ProviderConfig:
    """How to reach one deployment of a provider: which SDK client, where, with which
    credentials, how patiently.

    ``name`` is the protocol family (``openai``, ``anthropic``, ``google``): the adapter
    and everything keyed on the provider's name. ``kind`` says which official client of
    that family reaches the deployment (:class:`~agentqueue.core.config.schema.DeploymentKind`
    values: ``azure-openai``, ``anthropic-bedrock``, ``vertex-gemini``…), ``deployment``
    names it for breakers, budgets and metrics.
    """

    name: str
    api_key: str
    base_url: str | None = None
    #: Seconds for a whole non-streaming call, or between stream chunks.
    timeout: float = 120.0
    #: The SDK's HTTP client: ``aiohttp`` (its aiohttp transport) or ``httpx`` (its
    #: default); see ``CoreSettings.provider_http``.
    http: str = "aiohttp"
    #: True when this points at the agentqueue simulator rather than the real provider.
    simulated: bool = False
    #: A ``DeploymentKind`` value of the ``name`` family; empty: the family's plain kind
    #: (checked only when given: a test double's provider has none).
    kind: str = ""
    #: The deployment's name (breakers, budgets and metrics key on it).
    deployment: str = "default"
    #: Azure region, AWS region or Google Cloud location.
    region: str | None = None
    #: Azure OpenAI's ``api-version``.
    api_version: str | None = None
    #: Google Cloud project (``anthropic-vertex``, ``vertex-gemini``).
    project: str | None = None
    #: AWS credentials (``anthropic-bedrock``); None: the api key (a Bedrock API key), or
    #: the AWS SDK's default chain.
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = None
    #: Catalog model -> the provider's own id for it at this deployment (an Azure
    #: deployment name, a Bedrock model id, a Vertex model id); absent: the same name.
    model_names: Mapping[str, str] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if not self.kind:
            # a family of no kind (a test double's provider) is its own kind
            object.__setattr__(self, "kind", PLAIN_KINDS.get(self.name, self.name))
            return
        try:
            protocol = DeploymentKind(self.kind).protocol
        except ValueError:
            known = ", ".join(k.value for k in DeploymentKind)
            raise ValueError(f"unknown deployment kind {self.kind!r}; known: {known}") from None
        if protocol != self.name:
            raise ValueError(f"a {self.kind} deployment speaks {protocol}, not {self.name}")

    def remote_model(self, model: str) -> str:
        """The id this deployment knows catalog ``model`` by."""
        return self.model_names.get(model, model)

    def __repr__(self) -> str:  # never print a key
        return (
            f"ProviderConfig(name={self.name!r}, kind={self.kind!r}, "
            f"deployment={self.deployment!r}, region={self.region!r}, "
            f"base_url={self.base_url!r}, simulated={self.simulated})"
        )


class Provider(ABC):
    """One LLM provider behind its official SDK."""

    name: str
    #: The protocol whose streams :meth:`stream_raw` forwards as bytes (None: none).
    raw_protocol: ClassVar[str | None] = None

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config

    @property
    def deployment(self) -> str:
        """The deployment this adapter calls (its config's name for it)."""
        return self.config.deployment

    def reported_model(self, answered: str | None, model: str) -> str:
        """The model a completion names: the provider's own (a dated version, say), unless
        this deployment knows catalog ``model`` by another id (an Azure deployment name, a
        Bedrock model id): then the catalog's, which prices the call."""
        if answered and self.config.remote_model(model) == model:
            return answered
        return model

    def streamed_answer(
        self, completion: Completion, headers: Mapping[str, str], model: str
    ) -> Completion:
        """A stream's answer, read from its bytes, with what the response's headers say
        of the rate limit and the model named as :meth:`reported_model` names it."""
        completion.rate_limit = snapshot_from_headers(headers)
        completion.model = self.reported_model(completion.model, model)
        return completion

    @abstractmethod
    async def complete(self, request: CompletionRequest, model: str) -> Completion:
        """Run the call to completion and return the whole answer."""

    @abstractmethod
    def stream(self, request: CompletionRequest, model: str) -> AsyncIterator[StreamEvent]:
        """Yield :class:`TextDelta` pieces, then one final :class:`Completion`.

        Errors before the first piece and mid-stream are raised as our error types.
        """

    def passes_through(self, request: CompletionRequest, passthrough: Passthrough) -> bool:
        """Whether :meth:`stream_raw` can answer this caller: same protocol, and nothing
        in the request that only the translated stream gives the way the caller expects."""
        return (
            self.raw_protocol is not None
            and self.raw_protocol == passthrough.protocol
            and self.config.kind not in BINARY_STREAM_KINDS
        )

    def stream_raw(
        self, request: CompletionRequest, model: str, passthrough: Passthrough
    ) -> AsyncIterator[RawEvent]:
        """Yield the provider's SSE bytes as they come, then one :class:`Completion`.

        Only adapters with a :attr:`raw_protocol` implement it. An error before the first
        token (an HTTP error status, no connection, an error event among the opening
        events, which are held back until the first token) raises as our error types
        with nothing yielded, so the chain may still fall back; one after it raises once
        the stream has ended, with ``forwarded`` set when the caller has already been
        sent the provider's own error event.
        """
        raise NotImplementedError(f"{self.name} cannot pass a stream through")

    async def aclose(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Release the SDK client's connections."""

"""The configuration file's shape: every section a pydantic model that forbids unknown
fields, so that a misspelt ``rmp`` is an error naming its path, never a silently
unlimited model.

Secrets are never written in the file: a field that holds one takes a reference
(``{env: AZURE_KEY_EU}`` or ``{file: /var/run/secrets/azure/key}``) resolved when the
deployment is built (:mod:`.secrets`), so the file can live in a ConfigMap and in git.

A *deployment* is one place a model can be called: an account, an Azure resource, a
Bedrock or Vertex region, a vLLM server. Its ``kind`` says which official SDK client
reaches it; each of its models has its own budget in the shared limiter (budget name
``provider:model:deployment``) and its own circuit breaker.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

#: Deployment and tenant names: also budget-name parts and metric labels.
NAME_PATTERN = r"^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$"

PositiveInt = Annotated[int, Field(gt=0)]


class Strict(BaseModel):
    """Every section: unknown fields refused; an error never echoes the value it was given."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


class DeploymentKind(StrEnum):
    """How a deployment is reached, and so which official SDK client calls it."""

    OPENAI = "openai"
    AZURE_OPENAI = "azure-openai"
    OPENAI_COMPATIBLE = "openai-compatible"  # vLLM, Ollama, TGI, LM Studio…
    ANTHROPIC = "anthropic"
    ANTHROPIC_BEDROCK = "anthropic-bedrock"
    ANTHROPIC_VERTEX = "anthropic-vertex"
    GEMINI = "gemini"
    VERTEX_GEMINI = "vertex-gemini"

    @property
    def protocol(self) -> str:
        """The wire protocol family (and adapter family): openai, anthropic or google."""
        if self.value in ("openai", "azure-openai", "openai-compatible"):
            return "openai"
        if self.value.startswith("anthropic"):
            return "anthropic"
        return "google"


class SecretRef(Strict):
    """A secret by reference: an environment variable or a mounted file, exactly one."""

    env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    file: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        if (self.env is None) == (self.file is None):
            raise ValueError("give exactly one of env (a variable's name) or file (a path)")
        return self


def _refuse_inline(value: object) -> object:
    """A plain string where a secret goes is refused without being echoed: it would be
    a key written into a file that lives in a ConfigMap."""
    if isinstance(value, str):
        raise ValueError("a secret is never written inline: write {env: VARIABLE} or {file: /path}")
    return value


class BudgetSpec(Strict):
    """A deployment's limits for one model, as the provider states them."""

    rpm: PositiveInt
    tpm: PositiveInt
    #: Input and output tokens per minute, where the provider counts them apart.
    itpm: PositiveInt | None = None
    otpm: PositiveInt | None = None
    #: Seconds in the provider's minute (shortened only by simulations and benchmarks).
    minute_seconds: float = Field(default=60.0, gt=0)


class DeploymentModel(Strict):
    """One model a deployment serves."""

    #: The catalog's name for the model (or one of its aliases).
    model: str = Field(min_length=1)
    #: The provider's own name for it at this deployment, when it differs: an Azure
    #: deployment name, a Bedrock model id, a vLLM ``--served-model-name``.
    name: str | None = Field(default=None, min_length=1)
    #: Its limits at this deployment; none: not limited (a self-hosted server, say).
    budget: BudgetSpec | None = None


class Deployment(Strict):
    """One place models are called; see the module docstring."""

    name: str = Field(pattern=NAME_PATTERN)
    kind: DeploymentKind
    models: list[DeploymentModel] = Field(min_length=1)
    api_key: SecretRef | None = None
    #: AWS credentials (``anthropic-bedrock``); without them the SDK's default chain.
    aws_access_key_id: SecretRef | None = None
    aws_secret_access_key: SecretRef | None = None
    base_url: str | None = Field(default=None, pattern=r"^https?://")
    #: Azure region, AWS region or Google Cloud location.
    region: str | None = Field(default=None, min_length=1)
    #: Azure OpenAI's ``api-version``.
    api_version: str | None = None
    #: Google Cloud project (``anthropic-vertex``, ``vertex-gemini``).
    project: str | None = None
    #: Share of its model's traffic among deployments with equal headroom.
    weight: float = Field(default=1.0, gt=0)
    #: Points at the agentqueue simulator (tests, benchmarks, a fresh checkout).
    simulated: bool = False
    #: Seconds a call may take, or wait between stream chunks (default: the service's).
    timeout: float | None = Field(default=None, gt=0)

    _inline = field_validator(
        "api_key", "aws_access_key_id", "aws_secret_access_key", mode="before"
    )(_refuse_inline)

    @field_validator("base_url")
    @classmethod
    def _no_credentials_in_url(cls, value: str | None) -> str | None:
        """``https://user:key@host`` would be a secret written inline (and logged with
        every URL): refused without echoing it."""
        if value is not None and "@" in urlsplit(value).netloc:
            raise ValueError(
                "base_url carries credentials (user:password@): give the key as api_key "
                "{env: VARIABLE} or {file: /path}"
            )
        return value

    @model_validator(mode="after")
    def _kind_needs(self) -> Deployment:
        kind = self.kind
        if kind is DeploymentKind.AZURE_OPENAI:
            if not self.base_url:
                raise ValueError("an azure-openai deployment needs base_url (its endpoint)")
            if not self.api_version:
                raise ValueError("an azure-openai deployment needs api_version")
        if kind is DeploymentKind.OPENAI_COMPATIBLE and not self.base_url:
            raise ValueError("an openai-compatible deployment needs base_url")
        if (
            kind
            in (
                DeploymentKind.ANTHROPIC_BEDROCK,
                DeploymentKind.ANTHROPIC_VERTEX,
                DeploymentKind.VERTEX_GEMINI,
            )
            and not self.region
        ):
            raise ValueError(f"a {kind.value} deployment needs region")
        if kind in (DeploymentKind.ANTHROPIC_VERTEX, DeploymentKind.VERTEX_GEMINI) and not (
            self.project
        ):
            raise ValueError(f"a {kind.value} deployment needs project")
        seen: set[str] = set()
        for m in self.models:
            if m.model in seen:
                raise ValueError(f"model {m.model!r} is listed twice")
            seen.add(m.model)
        return self


class ModelEntry(Strict):
    """A model of the user's own, or an override of a catalog entry (same name)."""

    provider: str = Field(pattern=NAME_PATTERN)
    model: str = Field(min_length=1)
    tier: Literal["frontier", "efficient"]
    context_window: PositiveInt
    max_output_tokens: PositiveInt
    #: USD per million tokens.
    input: float = Field(ge=0)
    output: float = Field(ge=0)
    cache_read: float = Field(default=0, ge=0)
    cache_write: float = Field(default=0, ge=0)
    capabilities: list[Literal["tools", "vision", "json_schema", "thinking"]] = Field(
        default_factory=list
    )


class TenantQuotaSpec(Strict):
    """A tenant's own limits across every provider."""

    rpm: PositiveInt | None = None
    tpm: PositiveInt | None = None
    usd_per_day: float | None = Field(default=None, ge=0)
    minute_seconds: float = Field(default=60.0, gt=0)


class Routing(Strict):
    """How a call picks among providers and deployments."""

    #: Providers in fallback order (each tier's model of the first is tried first).
    provider_order: list[str] = Field(default_factory=lambda: ["anthropic", "openai", "google"])
    #: Regions preferred, best first, among deployments with headroom.
    region_preference: list[str] = Field(default_factory=list)
    #: ``headroom``: the deployment whose budget can take the call soonest (weights break
    #: ties); ``ordered``: deployments in the file's order.
    strategy: Literal["headroom", "ordered"] = "headroom"


class CacheSpec(Strict):
    """The response cache (docs/cache.md); each field overrides the service's default."""

    enabled: bool | None = None
    ttl: int | None = Field(default=None, ge=0)
    tenant_ttls: dict[str, int] | None = None
    nondeterministic: bool | None = None
    semantic: bool | None = None
    semantic_tenants: list[str] | None = None
    semantic_threshold: float | None = Field(default=None, ge=0.5, le=1.0)
    embedder: Literal["minilm", "openai"] | None = None


class WebhookSpec(Strict):
    """Where task webhooks may point."""

    allow_private: bool | None = None
    allow_http: bool | None = None


class AgentQueueConfig(Strict):
    """The whole file."""

    version: Literal[1] = 1
    models: list[ModelEntry] = Field(default_factory=list)
    #: Other names for catalog models: ``sonnet: claude-sonnet-4-6``.
    aliases: dict[str, str] = Field(default_factory=dict)
    deployments: list[Deployment] = Field(default_factory=list)
    #: Tenants' quotas by name; ``"*"`` applies to every tenant not listed.
    tenants: dict[str, TenantQuotaSpec] = Field(default_factory=dict)
    routing: Routing = Field(default_factory=Routing)
    cache: CacheSpec = Field(default_factory=CacheSpec)
    webhooks: WebhookSpec = Field(default_factory=WebhookSpec)

    @model_validator(mode="after")
    def _consistent(self) -> AgentQueueConfig:
        names = [d.name for d in self.deployments]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"deployment names must be unique: {', '.join(dupes)} repeated")
        for tenant in self.tenants:
            if tenant != "*" and not re.match(NAME_PATTERN, tenant):
                raise ValueError(f"tenant name {tenant!r} is not a lowercase name")
        return self

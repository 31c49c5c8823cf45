"""Settings every agentqueue process shares: Redis, providers, breakers, task records.

Each service subclasses :class:`CoreSettings` into its one typed settings object. Values
come from environment variables (prefix ``AGENTQUEUE_``); provider keys and base URLs
also come from each SDK's standard variables, so an existing deployment's secrets work
unchanged. Secrets are ``SecretStr``: they never appear in a repr or a log line.

The configuration file named by ``AGENTQUEUE_CONFIG`` (docs/config.md) comes after the
environment: its sections that are single settings (tenants, cache, webhooks, the
provider order) fill those settings unless their variable is set
(:mod:`agentqueue.core.config.source`); the rest is read with :meth:`CoreSettings.file_config`.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AliasChoices,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from agentqueue.core.config.errors import ConfigError
from agentqueue.core.config.loader import cached_config
from agentqueue.core.config.schema import AgentQueueConfig
from agentqueue.core.config.source import CONFIG_ENV, ConfigFileSource
from agentqueue.core.llm.catalog import config_problems
from agentqueue.core.ratelimit.budget import BudgetLimits
from agentqueue.core.ratelimit.quotas import DEFAULT_TENANT, TenantQuota, tenant_budget

PROVIDER_NAMES = ("anthropic", "openai", "google")


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class CoreSettings(BaseSettings):
    """Shared configuration; see the README's configuration table for each variable."""

    #: ``hide_input_in_errors``: a validation error never echoes what it was given (a
    #: malformed value may sit next to an API key or a Redis password).
    model_config = SettingsConfigDict(
        env_prefix="AGENTQUEUE_", extra="ignore", hide_input_in_errors=True
    )

    #: The configuration file (YAML: deployments, models, tenants, routing, cache,
    #: webhooks; docs/config.md). Environment variables override its single settings.
    config_file: str | None = Field(default=None, validation_alias=_env(CONFIG_ENV))
    #: The keyword arguments these settings were built with (kept by :meth:`reloaded`).
    _given: dict[str, Any] = PrivateAttr(default_factory=dict)

    #: Redis: the queues, task records and their events, sessions, the response cache,
    #: tenants' usage and the shared budgets.
    redis_url: SecretStr = SecretStr("redis://127.0.0.1:6379/0")
    #: Redis Sentinels, ``host:port,host:port``: when set, the master named
    #: ``redis_sentinel_master`` is found through them (and again after a failover);
    #: ``redis_url`` then gives only the password, db and TLS (``rediss://``).
    redis_sentinels: str = ""
    #: The master's name in the Sentinels' configuration.
    redis_sentinel_master: str = "agentqueue"

    #: Provider preference for fallback, most preferred first (comma-separated in env).
    provider_order: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(PROVIDER_NAMES)
    )

    anthropic_api_key: SecretStr | None = Field(
        default=None, validation_alias=_env("AGENTQUEUE_ANTHROPIC_API_KEY", "ANTHROPIC_API_KEY")
    )
    anthropic_base_url: str | None = Field(
        default=None, validation_alias=_env("AGENTQUEUE_ANTHROPIC_BASE_URL", "ANTHROPIC_BASE_URL")
    )
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=_env("AGENTQUEUE_OPENAI_API_KEY", "OPENAI_API_KEY")
    )
    openai_base_url: str | None = Field(
        default=None, validation_alias=_env("AGENTQUEUE_OPENAI_BASE_URL", "OPENAI_BASE_URL")
    )
    google_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=_env("AGENTQUEUE_GOOGLE_API_KEY", "GOOGLE_API_KEY", "GEMINI_API_KEY"),
    )
    google_base_url: str | None = Field(
        default=None,
        validation_alias=_env("AGENTQUEUE_GOOGLE_BASE_URL", "GOOGLE_GEMINI_BASE_URL"),
    )

    #: Where the provider simulator is (default ``http://127.0.0.1:8090``). Setting it does
    #: not make any provider simulated: see ``simulate``.
    simulator_url: str | None = None
    #: Providers played by the simulator, by name (comma-separated), or ``all``. Empty (the
    #: default): every provider is simulated when none has a key, and none is as soon as
    #: one has — a provider without a key is then simply absent, so a simulated answer
    #: never reaches someone who configured a real provider. A provider named here is
    #: simulated even if it has a key (the key is not used).
    simulate: Annotated[list[str], NoDecode] = Field(default_factory=list)

    #: Seconds a provider call may take (non-streaming), or wait between stream chunks.
    provider_timeout: float = Field(default=120.0, gt=0)
    #: The HTTP client under the OpenAI and Anthropic SDKs: ``aiohttp`` (their aiohttp
    #: transport; a quarter less CPU per stream in the gateway, measured in bench/gateway)
    #: or ``httpx`` (their default). Bedrock and Vertex clients always use the default.
    provider_http: Literal["aiohttp", "httpx"] = "aiohttp"
    #: Consecutive unhealthy failures that open a provider's circuit breaker.
    breaker_failure_threshold: int = Field(default=3, ge=1)
    #: Seconds a breaker stays open before one probe call is allowed.
    breaker_cooldown: float = Field(default=30.0, gt=0)
    #: Share breaker openings between every process on this Redis (pub/sub channel
    #: ``aq:breakers``): one process's failures open every process's breaker.
    breaker_sharing: bool = True

    #: Provider limits for the shared rate limiter, as JSON: ``{"anthropic:claude-sonnet-4-6":
    #: {"rpm": 4000, "tpm": 2000000}}`` (budget = provider:model[:account]); add ``itpm`` /
    #: ``otpm`` where the provider counts input and output tokens apart (Anthropic).
    #: Calls to a model without a budget are not limited.
    budgets: dict[str, dict[str, float]] = Field(default_factory=dict)
    #: Tenants' own quotas, as JSON: ``{"acme": {"tpm": 200000, "usd_per_day": 50},
    #: "*": {"tpm": 50000}}`` — ``*`` applies to every tenant not listed. Keys: ``tpm``,
    #: ``rpm`` (per minute, across all providers) and ``usd_per_day`` (UTC days).
    tenant_quotas: dict[str, dict[str, float]] = Field(default_factory=dict)
    #: The limiter service (``http://limiter:8091``). Unset: decide directly in Redis
    #: with the same script — one shared state either way.
    limiter_url: str | None = None
    #: Seconds a call may wait for its budget before it falls back or the task retries.
    limiter_max_wait: float = Field(default=30.0, ge=0)
    #: Processes sharing each budget. While Redis is unreachable each keeps to
    #: limit ÷ this, so the fleet stays under the provider's limit (never fails open).
    limiter_replicas: int = Field(default=4, ge=1)
    #: Seconds the shared budget's Redis calls retry a lost connection before the process
    #: falls back to its local share. Short on purpose: every LLM call waits this long
    #: while Redis is down (task records and usage retry for ``redis_retry_seconds``).
    limiter_redis_retry_seconds: float = Field(default=1.0, ge=0, le=60)
    #: Safety margin kept unused on every budget (0.02 = 2%).
    limiter_margin: float = Field(default=0.02, ge=0, lt=0.5)

    #: Response cache (docs/cache.md): answers of deterministic requests are kept in Redis
    #: per tenant and served again at no cost, before the limiter is asked.
    cache_enabled: bool = True
    #: Seconds an answer is kept when neither the request nor its tenant says otherwise.
    cache_ttl: int = Field(default=3600, ge=0)
    #: Seconds per tenant, as JSON: ``{"acme": 600, "*": 1800}`` (``*``: tenants not listed).
    cache_tenant_ttls: dict[str, int] = Field(default_factory=dict)
    #: Cache answers of requests whose temperature is not 0 (their answers are samples).
    cache_nondeterministic: bool = False
    #: Semantic cache for every tenant (requests may still opt in or out one by one).
    cache_semantic: bool = False
    #: Tenants with the semantic cache on although ``cache_semantic`` is off (comma-separated).
    cache_semantic_tenants: Annotated[list[str], NoDecode] = Field(default_factory=list)
    #: Cosine similarity a paraphrase needs to be served another prompt's answer.
    cache_semantic_threshold: float = Field(default=0.95, ge=0.5, le=1.0)
    #: Embeddings: "minilm" (all-MiniLM-L6-v2 in-process, the ``semantic`` extra) or
    #: "openai" (the provider's embedding API with the OpenAI key and base URL).
    cache_embedder: str = Field(default="minilm", pattern="^(minilm|openai)$")
    #: Vectors kept per scope; the oldest are dropped beyond this.
    cache_semantic_max_entries: int = Field(default=100_000, ge=100)
    #: Seconds a request waits for an identical one in flight before calling itself.
    single_flight_timeout: float = Field(default=60.0, ge=0)

    #: A catalog file replacing the packaged one (prices and windows change monthly).
    catalog_path: str | None = None
    #: Seconds a finished task's record is kept in Redis.
    task_ttl: int = Field(default=7 * 24 * 3600, ge=60)
    #: Seconds a task's event log is kept after its terminal event (the record, with its
    #: outcome, usage and calls, stays for ``task_ttl``): long enough for a watcher to
    #: read the end of its stream; most of a finished task's Redis memory otherwise.
    events_ttl_after_finish: int = Field(default=3600, ge=1)
    #: Let webhook URLs resolve to private, loopback or link-local addresses. Off: a
    #: client could otherwise make workers call internal services (cloud metadata, Redis).
    webhook_allow_private: bool = False
    #: Let webhook URLs use plain http (otherwise https only: the body is the task's result).
    webhook_allow_http: bool = False
    #: Log format: "text" for people, "json" for log pipelines.
    log_format: str = "text"
    log_level: str = "INFO"
    #: Traces: "otlp" exports them over OTLP/HTTP (as does OTEL_EXPORTER_OTLP_ENDPOINT
    #: set alone); "off" makes none unless that variable is set (docs/observability.md).
    tracing: str = Field(default="off", pattern="^(off|otlp)$")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The configuration file last: every environment variable overrides it."""
        return (
            init_settings,
            env_settings,
            dotenv_settings,
            file_secret_settings,
            ConfigFileSource(settings_cls, providers=PROVIDER_NAMES),
        )

    def file_config(self) -> AgentQueueConfig:
        """The validated configuration file (read again only when it changed), or an empty
        configuration without one; :class:`ConfigError` when it has become invalid."""
        if not self.config_file:
            return AgentQueueConfig()
        return cached_config(self.config_file)

    def __init__(self, **values: Any) -> None:
        super().__init__(**values)
        self._given = dict(values)

    def reloaded(self) -> Self:
        """These settings built again as they were first (same keyword arguments), from
        the environment and the file as they are now: what a service reloading its
        configuration builds its new call path from."""
        given: dict[str, Any] = {**self._given, CONFIG_ENV: self.config_file}
        given.pop("config_file", None)
        return type(self)(**given)

    @field_validator("provider_order", "cache_semantic_tenants", "simulate", mode="before")
    @classmethod
    def _split_order(cls, value: object) -> object:
        if isinstance(value, str):
            value = [p.strip() for p in value.split(",") if p.strip()]
        return value

    @field_validator("provider_order")
    @classmethod
    def _known_providers(cls, value: list[str]) -> list[str]:
        unknown = [p for p in value if p not in PROVIDER_NAMES]
        if unknown:
            raise ValueError(f"unknown provider(s) {unknown}; known: {list(PROVIDER_NAMES)}")
        return value

    @field_validator("simulate")
    @classmethod
    def _known_simulated(cls, value: list[str]) -> list[str]:
        names = [p.lower() for p in value]
        unknown = [p for p in names if p not in (*PROVIDER_NAMES, "all")]
        if unknown:
            raise ValueError(
                f"unknown provider(s) {unknown} to simulate; known: {list(PROVIDER_NAMES)} or all"
            )
        return list(PROVIDER_NAMES) if "all" in names else names

    @field_validator("budgets")
    @classmethod
    def _valid_budgets(cls, value: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        """Each budget is ``provider:model[:account]`` of a known provider, with ``rpm``
        and ``tpm`` (and optionally ``itpm``, ``otpm``, ``minute_seconds``) positive: a
        name without its provider would otherwise leave the model silently unlimited."""
        for name, spec in value.items():
            provider, _, rest = name.partition(":")
            model = rest.partition(":")[0]
            if provider not in PROVIDER_NAMES or not model:
                raise ValueError(
                    f"budget {name!r}: name it provider:model[:account] with a provider of "
                    f"{', '.join(PROVIDER_NAMES)} (e.g. 'anthropic:claude-sonnet-4-6')"
                )
            _check_fields(f"budget {name!r}", spec, _BUDGET_FIELDS, required=("rpm", "tpm"))
        return value

    @field_validator("tenant_quotas")
    @classmethod
    def _valid_quotas(cls, value: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        """Each tenant's quota has known fields with positive values (``usd_per_day`` may
        be 0: the tenant may spend nothing)."""
        for tenant, spec in value.items():
            if not tenant:
                raise ValueError("tenant_quotas: a tenant name is empty (use '*' for all)")
            _check_fields(f"tenant {tenant!r}", spec, _QUOTA_FIELDS, zero_ok=("usd_per_day",))
        return value

    def budget_limits(self) -> dict[str, BudgetLimits]:
        """``budgets`` as typed limits, keyed by full budget name (account defaults)."""
        out = {}
        for name, spec in self.budgets.items():
            full = name if name.count(":") >= 2 else f"{name}:default"
            out[full] = BudgetLimits(
                rpm=int(spec["rpm"]),
                tpm=int(spec["tpm"]),
                itpm=int(spec["itpm"]) if spec.get("itpm") else None,
                otpm=int(spec["otpm"]) if spec.get("otpm") else None,
                margin=self.limiter_margin,
                minute_seconds=float(spec.get("minute_seconds", 60.0)),
            )
        return out

    def quotas(self) -> dict[str, TenantQuota]:
        """``tenant_quotas`` as typed quotas, by tenant (``*``: the default)."""
        return {tenant: TenantQuota.of(spec) for tenant, spec in self.tenant_quotas.items()}

    def quota_budget_limits(self) -> dict[str, BudgetLimits]:
        """The per-minute quota budgets of the tenants named in ``tenant_quotas``."""
        out = {}
        for tenant, quota in self.quotas().items():
            limits = quota.limits()
            if tenant != DEFAULT_TENANT and limits is not None:
                out[tenant_budget(tenant)] = limits
        return out

    def api_key(self, provider: str) -> SecretStr | None:
        key: SecretStr | None = getattr(self, f"{provider}_api_key")
        return key if key and key.get_secret_value() else None

    def base_url(self, provider: str) -> str | None:
        url: str | None = getattr(self, f"{provider}_base_url")
        return url


_BUDGET_FIELDS = ("rpm", "tpm", "itpm", "otpm", "minute_seconds")
_QUOTA_FIELDS = ("tpm", "rpm", "usd_per_day", "minute_seconds")


def _check_fields(
    what: str,
    spec: Mapping[str, float],
    known: tuple[str, ...],
    *,
    required: tuple[str, ...] = (),
    zero_ok: tuple[str, ...] = (),
) -> None:
    unknown = sorted(set(spec) - set(known))
    if unknown:
        raise ValueError(f"{what}: unknown field(s) {unknown}; known: {', '.join(known)}")
    missing = [f for f in required if f not in spec]
    if missing:
        raise ValueError(f"{what}: missing {', '.join(missing)}")
    for field, number in spec.items():
        ok = number >= 0 if field in zero_ok else number > 0
        if not (math.isfinite(number) and ok):
            least = "0 or more" if field in zero_ok else "a positive number"
            raise ValueError(f"{what}: {field} must be {least}, not {number}")


def settings_error(exc: ValidationError, settings_type: type[BaseSettings] | None = None) -> str:
    """A settings validation error as one readable line naming each variable, and never
    the value it was given (the input may hold a secret)."""
    prefix = str((settings_type or CoreSettings).model_config.get("env_prefix", ""))
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = [str(part) for part in error["loc"]]
        name = f"{prefix}{loc[0]}".upper() if loc else ""
        where = ".".join(loc[1:])
        message = str(error["msg"]).removeprefix("Value error, ")
        if not loc:  # the settings as a whole: the message names the variable
            problems.append(message)
            continue
        problems.append(f"{name}{f' ({where})' if where else ''}: {message}")
    return "invalid configuration: " + "; ".join(problems)


def parse_service_args(
    prog: str,
    description: str | None,
    settings_type: type[BaseSettings],
    argv: Sequence[str] | None = None,
) -> None:
    """Answer ``--help`` for a service, refuse any other argument, and refuse invalid
    settings in one line (:func:`check_settings`).

    A service takes its configuration from environment variables only (what a Deployment
    sets), so its help lists them, with their defaults; secrets show only whether they are
    set by default, never a value.
    """
    parser = argparse.ArgumentParser(
        prog=prog,
        description=description,
        epilog="environment variables:\n" + "\n".join(environment_lines(settings_type)),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.parse_args(argv)
    check_settings(prog, settings_type)


def check_settings(prog: str, settings_type: type[BaseSettings]) -> None:
    """Exit with one readable line (never a traceback, never a value given) when the
    environment does not make valid settings — before the service starts anything."""
    try:
        settings = settings_type()
    except ValidationError as exc:
        raise SystemExit(f"{prog}: {settings_error(exc, settings_type)}") from None
    except SettingsError as exc:  # a JSON variable that is not JSON
        raise SystemExit(f"{prog}: invalid configuration: {exc}") from None
    except ConfigError as exc:  # the configuration file: one line naming file and path
        raise SystemExit(f"{prog}: invalid configuration file {exc}") from None
    if isinstance(settings, CoreSettings) and settings.config_file:
        problems = config_problems(settings.file_config(), settings.catalog_path)
        if problems:
            raise SystemExit(
                f"{prog}: invalid configuration file {settings.config_file}: " + "; ".join(problems)
            )


def environment_lines(settings_type: type[BaseSettings]) -> list[str]:
    """One line per setting: the variables that set it and its default."""
    prefix = str(settings_type.model_config.get("env_prefix", ""))
    lines = []
    for name, info in settings_type.model_fields.items():
        alias = info.validation_alias
        names = (
            " | ".join(str(choice) for choice in alias.choices)
            if isinstance(alias, AliasChoices)
            else f"{prefix}{name}".upper()
        )
        lines.append(f"  {names}  (default: {_shown_default(info)})")
    return lines


def _shown_default(info: FieldInfo) -> str:
    if info.is_required():
        return "required"
    value: Any = info.get_default(call_default_factory=True)
    if value is None:
        return "unset"
    if isinstance(value, SecretStr):
        return "hidden (a secret)"
    return repr(value)

"""Which providers this process may call, in fallback order, and how to reach them.

Rule: a simulated answer never reaches someone who configured a real provider.

- A provider with a key is called for real (at its standard or configured base URL).
- When no provider has a key at all, every provider is the simulator (at
  ``AGENTQUEUE_SIMULATOR_URL``, default ``http://127.0.0.1:8090``): a fresh checkout works
  with no secrets and never sends a request anywhere but the local simulator.
- As soon as one provider has a key, a provider without one is absent from the chain —
  unless it is named in ``AGENTQUEUE_SIMULATE`` (``anthropic,google``, or ``all``), which
  asks for the simulator for it explicitly (even over a key it has).

Setting ``AGENTQUEUE_SIMULATOR_URL`` says where the simulator is, never whether to use it.

With a configuration file that lists ``deployments`` (docs/config.md), those are the
providers instead, one adapter per deployment, each through its kind's official SDK
client; a deployment marked ``simulated`` is played by the simulator under its own name
(its own limits there).
"""

from __future__ import annotations

import logging

from agentqueue.core.config.schema import Deployment, DeploymentKind
from agentqueue.core.config.secrets import resolve_optional
from agentqueue.core.llm.catalog import Catalog, load_catalog
from agentqueue.core.llm.providers.base import Provider, ProviderConfig
from agentqueue.core.llm.providers.clients import simulated_base_url
from agentqueue.core.ratelimit.budget import BudgetLimits, budget_name
from agentqueue.core.settings import CoreSettings

log = logging.getLogger(__name__)

DEFAULT_SIMULATOR_URL = "http://127.0.0.1:8090"

#: Path each SDK expects after the host: OpenAI's base URL includes ``/v1``.
_SIMULATOR_PATHS = {"anthropic": "", "openai": "/v1", "google": ""}


def simulated_providers(settings: CoreSettings) -> list[str]:
    """The providers the simulator plays for this process, in ``provider_order``."""
    if settings.simulate:
        return [p for p in settings.provider_order if p in settings.simulate]
    if any(settings.api_key(p) for p in settings.provider_order):
        return []
    return list(settings.provider_order)


def catalog_for(settings: CoreSettings) -> Catalog:
    """The catalog with the configuration file's own models and aliases."""
    config = settings.file_config()
    return load_catalog(
        settings.catalog_path, extra=tuple(config.models), aliases=tuple(config.aliases.items())
    )


def deployment_config(
    deployment: Deployment, settings: CoreSettings, catalog: Catalog
) -> ProviderConfig:
    """How to reach one deployment of the configuration file: its secrets resolved
    (:class:`~agentqueue.core.config.secrets.SecretUnavailable` naming a missing one),
    its models by their catalog names."""
    names = {}
    for served in deployment.models:
        model = catalog.get(served.model).model
        names[model] = served.name or model
    kind = deployment.kind
    if deployment.simulated:
        simulator = (settings.simulator_url or DEFAULT_SIMULATOR_URL).rstrip("/")
        api_key = f"sim-{deployment.name}"
        base_url: str | None = simulated_base_url(simulator, kind.value, deployment.name)
        aws = (
            ("sim-access-key", "sim-secret-key")
            if kind is DeploymentKind.ANTHROPIC_BEDROCK
            else (None, None)
        )
    else:
        key = resolve_optional(deployment.api_key)
        api_key = key.get_secret_value() if key is not None else ""
        base_url = deployment.base_url
        aws = tuple(  # type: ignore[assignment]
            s.get_secret_value() if s is not None else None
            for s in (
                resolve_optional(deployment.aws_access_key_id),
                resolve_optional(deployment.aws_secret_access_key),
            )
        )
    return ProviderConfig(
        name=kind.protocol,
        kind=kind.value,
        deployment=deployment.name,
        api_key=api_key,
        base_url=base_url,
        timeout=deployment.timeout or settings.provider_timeout,
        http=settings.provider_http,
        simulated=deployment.simulated,
        region=deployment.region,
        api_version=deployment.api_version,
        project=deployment.project,
        aws_access_key_id=aws[0],
        aws_secret_access_key=aws[1],
        model_names=names,
    )


def deployment_budget_limits(settings: CoreSettings, catalog: Catalog) -> dict[str, BudgetLimits]:
    """Each configured deployment's budget per model, by budget name
    (``provider:model:deployment``, the provider being the model's in the catalog)."""
    out = {}
    for deployment in settings.file_config().deployments:
        for served in deployment.models:
            if served.budget is None:
                continue
            info = catalog.get(served.model)
            spec = served.budget
            out[budget_name(info.provider, info.model, deployment.name)] = BudgetLimits(
                rpm=spec.rpm,
                tpm=spec.tpm,
                itpm=spec.itpm,
                otpm=spec.otpm,
                margin=settings.limiter_margin,
                minute_seconds=spec.minute_seconds,
            )
    return out


def provider_configs(settings: CoreSettings) -> list[ProviderConfig]:
    """The configured providers: the file's deployments when it lists any, otherwise one
    per provider in ``settings.provider_order`` (see the module's rule)."""
    deployments = settings.file_config().deployments
    if deployments:
        catalog = catalog_for(settings)
        return [deployment_config(d, settings, catalog) for d in deployments]
    simulated = simulated_providers(settings)
    simulator = (settings.simulator_url or DEFAULT_SIMULATOR_URL).rstrip("/")
    configs = []
    for name in settings.provider_order:
        key = settings.api_key(name)
        if name in simulated:
            if key is not None:
                log.warning("provider %s simulated (AGENTQUEUE_SIMULATE): its key is unused", name)
            configs.append(
                ProviderConfig(
                    name=name,
                    api_key=f"sim-{name}",
                    base_url=simulator + _SIMULATOR_PATHS[name],
                    timeout=settings.provider_timeout,
                    http=settings.provider_http,
                    simulated=True,
                )
            )
        elif key is not None:
            configs.append(
                ProviderConfig(
                    name=name,
                    api_key=key.get_secret_value(),
                    base_url=settings.base_url(name),
                    timeout=settings.provider_timeout,
                    http=settings.provider_http,
                )
            )
        else:
            log.info(
                "provider %s skipped: no API key (AGENTQUEUE_SIMULATE=%s would simulate it)",
                name,
                name,
            )
    return configs


def build_provider(config: ProviderConfig) -> Provider:
    """The SDK adapter for ``config`` (SDKs imported lazily: each is heavy)."""
    if config.name == "anthropic":
        from agentqueue.core.llm.providers.anthropic import AnthropicProvider

        return AnthropicProvider(config)
    if config.name == "openai":
        from agentqueue.core.llm.providers.openai import OpenAIProvider

        return OpenAIProvider(config)
    if config.name == "google":
        from agentqueue.core.llm.providers.google import GoogleProvider

        return GoogleProvider(config)
    raise ValueError(f"unknown provider {config.name!r}")


def build_providers(settings: CoreSettings) -> list[Provider]:
    return [build_provider(c) for c in provider_configs(settings)]

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
"""

from __future__ import annotations

import logging

from agentqueue.core.llm.providers.base import Provider, ProviderConfig
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


def provider_configs(settings: CoreSettings) -> list[ProviderConfig]:
    """The configured providers, in ``settings.provider_order`` (see the module's rule)."""
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

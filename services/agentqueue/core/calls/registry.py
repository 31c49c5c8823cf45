"""Which providers this process may call, in fallback order, and how to reach them.

Rule: a provider with a key is called for real (at its standard or configured base URL).
A provider without a key is skipped, unless the simulator is in play: it is used for every
keyless provider when ``AGENTQUEUE_SIMULATOR_URL`` is set, and for all providers when no
provider has a key at all — so a fresh checkout works with no secrets and never sends a
request anywhere but the local simulator.
"""

from __future__ import annotations

import logging

from agentqueue.core.llm.providers.base import Provider, ProviderConfig
from agentqueue.core.settings import CoreSettings

log = logging.getLogger(__name__)

DEFAULT_SIMULATOR_URL = "http://127.0.0.1:8090"

#: Path each SDK expects after the host: OpenAI's base URL includes ``/v1``.
_SIMULATOR_PATHS = {"anthropic": "", "openai": "/v1", "google": ""}


def provider_configs(settings: CoreSettings) -> list[ProviderConfig]:
    """The configured providers, in ``settings.provider_order``."""
    any_key = any(settings.api_key(p) for p in settings.provider_order)
    simulator = settings.simulator_url or (None if any_key else DEFAULT_SIMULATOR_URL)
    configs = []
    for name in settings.provider_order:
        key = settings.api_key(name)
        if key is not None:
            configs.append(
                ProviderConfig(
                    name=name,
                    api_key=key.get_secret_value(),
                    base_url=settings.base_url(name),
                    timeout=settings.provider_timeout,
                )
            )
        elif simulator is not None:
            configs.append(
                ProviderConfig(
                    name=name,
                    api_key=f"sim-{name}",
                    base_url=simulator.rstrip("/") + _SIMULATOR_PATHS[name],
                    timeout=settings.provider_timeout,
                    simulated=True,
                )
            )
        else:
            log.info("provider %s skipped: no API key configured", name)
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

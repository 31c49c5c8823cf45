"""The configuration file as a pydantic-settings source, below the environment.

Some sections of the file say what single settings already said: ``tenants`` is
``AGENTQUEUE_TENANT_QUOTAS``, ``cache.ttl`` is ``AGENTQUEUE_CACHE_TTL``, and so on
(:data:`SETTINGS_OF`). This source gives the settings those values, placed after the
environment: a variable that is set still overrides its one setting, so an operator can
change a single value for one Deployment without editing the shared file. The file's
other sections (deployments, models, aliases, routing's regions and strategy) have no
single setting; they are read whole with ``CoreSettings.file_config()``.

An overridden value is said once per file version in a log line, naming the variable
(never a value), so that "the file says 600 but the cache keeps 3600" has an answer.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from agentqueue.core.config.errors import ConfigError, one_line
from agentqueue.core.config.loader import cached_config, file_signature
from agentqueue.core.config.schema import AgentQueueConfig

log = logging.getLogger(__name__)

#: Environment variable naming the file (also the settings' ``config_file``).
CONFIG_ENV = "AGENTQUEUE_CONFIG"

#: Setting (field of ``CoreSettings``) → where the file says it.
SETTINGS_OF = {
    "tenant_quotas": "tenants",
    "provider_order": "routing.provider_order",
    "cache_enabled": "cache.enabled",
    "cache_ttl": "cache.ttl",
    "cache_tenant_ttls": "cache.tenant_ttls",
    "cache_nondeterministic": "cache.nondeterministic",
    "cache_semantic": "cache.semantic",
    "cache_semantic_tenants": "cache.semantic_tenants",
    "cache_semantic_threshold": "cache.semantic_threshold",
    "cache_embedder": "cache.embedder",
    "webhook_allow_private": "webhooks.allow_private",
    "webhook_allow_http": "webhooks.allow_http",
}

_said: set[tuple[object, ...]] = set()


def settings_values(config: AgentQueueConfig) -> dict[str, Any]:
    """The settings the file states, by setting name; only what it states explicitly."""
    out: dict[str, Any] = {}
    if "tenants" in config.model_fields_set:
        out["tenant_quotas"] = {
            name: spec.model_dump(exclude_none=True) for name, spec in config.tenants.items()
        }
    if "provider_order" in config.routing.model_fields_set:
        out["provider_order"] = list(config.routing.provider_order)
    for name, value in config.cache.model_dump(exclude_none=True).items():
        out[f"cache_{name}"] = value
    for name, value in config.webhooks.model_dump(exclude_none=True).items():
        out[f"webhook_{name}"] = value
    return out


class ConfigFileSource(PydanticBaseSettingsSource):
    """Settings from the file named by ``AGENTQUEUE_CONFIG`` (or the ``AGENTQUEUE_CONFIG``
    keyword); see the module docstring. A broken file raises :class:`ConfigError`."""

    def __init__(self, settings_cls: type[BaseSettings], *, providers: Iterable[str] = ()) -> None:
        super().__init__(settings_cls)
        self.providers = tuple(providers)

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ reads the whole file at once

    def __call__(self) -> dict[str, Any]:
        path = self.current_state.get(CONFIG_ENV) or self.current_state.get("config_file")
        if not path:
            return {}
        values = settings_values(cached_config(path))
        check_provider_order(str(path), values.get("provider_order", ()), self.providers)
        overridden = sorted(name for name in values if name in self.current_state)
        if overridden:
            _say_overridden(str(path), overridden)
        return {k: v for k, v in values.items() if k not in self.current_state}


def check_provider_order(path: str, order: Iterable[str], providers: Iterable[str]) -> None:
    """:class:`ConfigError` when ``routing.provider_order`` names a provider the settings
    do not know (said about the file, rather than about ``AGENTQUEUE_PROVIDER_ORDER``)."""
    known = tuple(providers)
    unknown = [p for p in order if p not in known]
    if known and unknown:
        raise ConfigError(
            one_line(
                path,
                [
                    f"routing.provider_order: unknown provider(s) {', '.join(unknown)}; "
                    f"known: {', '.join(known)}"
                ],
            )
        )


def _say_overridden(path: str, names: list[str]) -> None:
    key = (path, file_signature(path), *names)
    if key in _said:
        return
    _said.add(key)
    for name in names:
        variable = f"AGENTQUEUE_{name.upper()}"
        where = SETTINGS_OF.get(name, name)
        if name == "tenant_quotas":
            log.warning(
                "%s and the tenants of %s both set tenants' quotas: %s wins, the file's "
                "tenants are ignored (unset it to use the file)",
                variable,
                path,
                variable,
            )
        else:
            log.info("%s overrides %s of %s", variable, where, path)

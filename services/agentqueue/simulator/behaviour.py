"""How each simulated provider behaves right now: limits, latency and faults.

Every provider starts from the settings; the admin API changes one provider or all of them
at run time (``PATCH /_sim/config``), which is how tests and the demo inject outages.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from agentqueue.simulator.providers import PROVIDERS
from agentqueue.simulator.settings import SimulatorSettings


@dataclass(frozen=True)
class Behaviour:
    rpm: int
    tpm: int
    minute_seconds: float
    ttft_ms: float
    ms_per_token: float
    speed: float
    error_rate: float
    overload_rate: float
    mid_stream_error_rate: float
    outage: bool = False

    @classmethod
    def from_settings(cls, s: SimulatorSettings) -> Behaviour:
        return cls(
            rpm=s.rpm,
            tpm=s.tpm,
            minute_seconds=s.minute_seconds,
            ttft_ms=s.ttft_ms,
            ms_per_token=s.ms_per_token,
            speed=s.speed,
            error_rate=s.error_rate,
            overload_rate=s.overload_rate,
            mid_stream_error_rate=s.mid_stream_error_rate,
        )

    @property
    def first_token_s(self) -> float:
        return self.ttft_ms * self.speed / 1000

    @property
    def per_token_s(self) -> float:
        return self.ms_per_token * self.speed / 1000


_FIELDS = {f.name: f.type for f in fields(Behaviour)}
_LIMIT_FIELDS = ("rpm", "tpm", "minute_seconds")


class ConfigError(ValueError):
    """A config patch named an unknown provider or field, or a bad value."""


def _coerce(name: str, value: Any) -> Any:
    kind = _FIELDS[name]
    if kind == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{name} must be true or false")
        return value
    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
        raise ConfigError(f"{name} must be a non-negative number")
    if name.endswith("_rate") and value > 1:
        raise ConfigError(f"{name} must be between 0 and 1")
    if name in ("rpm", "tpm"):
        if value < 1:
            raise ConfigError(f"{name} must be at least 1")
        return int(value)
    if name == "minute_seconds" and value == 0:
        raise ConfigError("minute_seconds must be positive")
    return float(value)


class Behaviours:
    """The current behaviour of every provider, with a version per provider's limits."""

    def __init__(self, settings: SimulatorSettings) -> None:
        self._initial = Behaviour.from_settings(settings)
        self.reset()

    def reset(self) -> None:
        self.current = {p: self._initial for p in PROVIDERS}
        self.limits_version = {p: 0 for p in PROVIDERS}

    def __getitem__(self, provider: str) -> Behaviour:
        return self.current[provider]

    def patch(self, changes: dict[str, dict[str, Any]]) -> None:
        """Apply ``{"all" | provider: {field: value}}``; validate everything first."""
        planned = dict(self.current)
        for target, values in changes.items():
            if target != "all" and target not in PROVIDERS:
                raise ConfigError(f"unknown provider {target!r}; use one of {PROVIDERS} or 'all'")
            if not isinstance(values, dict):
                raise ConfigError(f"{target}: expected an object of fields")
            unknown = set(values) - set(_FIELDS)
            if unknown:
                raise ConfigError(f"{target}: unknown field(s) {sorted(unknown)}")
            update = {k: _coerce(k, v) for k, v in values.items()}
            for provider in PROVIDERS if target == "all" else (target,):
                before = planned[provider]
                planned[provider] = replace(before, **update)
                if any(k in update for k in _LIMIT_FIELDS):
                    self.limits_version[provider] += 1
        self.current = planned

    def as_dict(self) -> dict[str, dict[str, Any]]:
        return {p: asdict(b) for p, b in self.current.items()}

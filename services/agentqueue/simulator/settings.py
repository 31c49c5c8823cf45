"""The simulator's one settings object (env prefix ``AGENTQUEUE_SIM_``).

Defaults look like a mid-tier paid account: limits that a busy deployment reaches,
latency of a real frontier model. Tests use ``speed=0`` (no sleeping at all);
benchmarks shorten ``minute_seconds`` so that budgets bind within seconds.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from agentqueue.core.config.schema import NAME_PATTERN
from agentqueue.core.llm.tokenizers import STAND_IN, counter_named, exact_encoding
from agentqueue.simulator.outages import parse_outages
from agentqueue.simulator.providers import PROVIDERS


class DeploymentLimits(BaseModel):
    """One simulated deployment's own limits; a field left out is its provider's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rpm: int | None = Field(default=None, ge=1)
    tpm: int | None = Field(default=None, ge=1)
    minute_seconds: float | None = Field(default=None, gt=0)


class SimulatorSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="AGENTQUEUE_SIM_", extra="ignore", hide_input_in_errors=True
    )

    host: str = "127.0.0.1"
    port: int = Field(default=8090, ge=0, le=65535)
    #: Requests per "minute" per API key and provider.
    rpm: int = Field(default=1000, ge=1)
    #: Tokens (input + max_tokens at admission) per "minute" per API key and provider.
    tpm: int = Field(default=400_000, ge=1)
    #: Length of the rate-limit minute in seconds; shortened by benchmarks.
    minute_seconds: float = Field(default=60.0, gt=0)
    #: Milliseconds to the first token, before scaling by ``speed``.
    ttft_ms: float = Field(default=400.0, ge=0)
    #: Milliseconds per output token, before scaling by ``speed``.
    ms_per_token: float = Field(default=12.0, ge=0)
    #: Multiplier on every delay; 0 answers at once.
    speed: float = Field(default=1.0, ge=0)
    #: Fraction of calls failing with a 500.
    error_rate: float = Field(default=0.0, ge=0, le=1)
    #: Fraction of calls refused as overloaded (Anthropic 529, others 503).
    overload_rate: float = Field(default=0.0, ge=0, le=1)
    #: Fraction of streamed calls that fail after their first chunk.
    mid_stream_error_rate: float = Field(default=0.0, ge=0, le=1)
    #: Scheduled outages, seconds after start: ``anthropic:10-20,all:40-45``.
    outages: str = ""
    #: Seed of the fault dice; unset draws from the OS.
    seed: int | None = None
    #: How providers count input tokens, by a real tokenizer: per provider
    #: (``anthropic=cl100k_base,google=o200k_base``) or one for all (``o200k_base``);
    #: OpenAI's encodings ``o200k_base`` and ``cl100k_base``. Unnamed, OpenAI counts by
    #: the model's own encoding and the others by ``o200k_base``. Anthropic's default
    #: stand-in for Claude's tokenizer (not published) is ``cl100k_base``: it counts
    #: Japanese, Korean, Hindi and Thai well above ``o200k_base``, as Claude's is
    #: reported to, so our counts (``o200k_base`` for non-GPT models) meet a provider that
    #: disagrees with them by content, as production does.
    tokenizers: str = "anthropic=cl100k_base"
    #: Limits of named deployments (reached under ``/d/{name}/…``), as JSON:
    #: ``{"azure-eu": {"rpm": 100, "tpm": 10000}}``. Every named deployment has buckets of
    #: its own (a separate resource or account); one not listed here has its provider's
    #: limits. Calls without the prefix share their provider's buckets, as before.
    deployments: dict[str, DeploymentLimits] = Field(default_factory=dict)
    #: Batch APIs (``simulator/batches.py``): seconds from a batch's creation to its end.
    #: Not scaled by ``speed`` (batch time is its own scale, minutes to hours in
    #: production); 0 ends a batch at once, though its create answer still shows it
    #: pending. Changed at run time by ``PATCH /_sim/config {"batches": {...}}``.
    batch_delay_seconds: float = Field(default=0.0, ge=0)
    #: Fraction of a batch's requests that fail (each on its own; the others succeed).
    batch_error_rate: float = Field(default=0.0, ge=0, le=1)
    #: Input tokens a provider lets one API key have enqueued in unfinished batches; a
    #: create beyond it is refused in the provider's shape (OpenAI: a failed batch,
    #: ``token_limit_exceeded``; Anthropic: 429; Gemini: 429 RESOURCE_EXHAUSTED).
    batch_enqueued_tokens: int = Field(default=5_000_000, ge=1)

    def tokenizer_for(self, provider: str, model: str) -> str:
        """The encoding ``provider`` counts ``model``'s input with."""
        named = parse_tokenizers(self.tokenizers)
        own = exact_encoding(provider, model) if provider == "openai" else None
        return named.get(provider) or named.get("all") or own or STAND_IN

    @field_validator("outages")
    @classmethod
    def _valid_outages(cls, value: str) -> str:
        parse_outages(value)
        return value

    @field_validator("deployments")
    @classmethod
    def _valid_deployment_names(
        cls, value: dict[str, DeploymentLimits]
    ) -> dict[str, DeploymentLimits]:
        for name in value:
            if not re.match(NAME_PATTERN, name):
                raise ValueError(f"deployment name {name!r} is not a lowercase name")
        return value

    @field_validator("tokenizers")
    @classmethod
    def _valid_tokenizers(cls, value: str) -> str:
        for provider, name in parse_tokenizers(value).items():
            if provider != "all" and provider not in PROVIDERS:
                raise ValueError(f"unknown provider {provider!r} in tokenizers")
            counter_named(name)  # raises ValueError naming the known ones
        return value


def parse_tokenizers(spec: str) -> dict[str, str]:
    """``o200k_base`` -> {"all": ...}; ``anthropic=classes,openai=o200k_base`` by provider."""
    out = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        provider, sep, name = part.rpartition("=")
        out[provider.strip() if sep else "all"] = name.strip()
    return out

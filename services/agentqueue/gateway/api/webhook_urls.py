"""A caller's webhook URL, checked where it enters: a task's and a session step's.

Both answer a bad URL the same way (422 naming ``body.webhook_url``) and by the same
operator settings, so that a URL refused for a task is refused for a step too.
"""

from __future__ import annotations

from fastapi.exceptions import RequestValidationError
from pydantic import HttpUrl

from agentqueue.core.tasks.urlguard import UnsafeURL, check_url
from agentqueue.gateway.settings import GatewaySettings


async def checked_webhook_url(url: HttpUrl | None, settings: GatewaySettings) -> str | None:
    """``url`` as the task will store it, or a 422 if it points somewhere it may not."""
    if url is None:
        return None
    try:
        await check_url(
            str(url),
            allow_private=settings.webhook_allow_private,
            allow_http=settings.webhook_allow_http,
        )
    except UnsafeURL as exc:
        raise RequestValidationError(
            [{"loc": ("body", "webhook_url"), "msg": str(exc), "type": "value_error"}]
        ) from exc
    return str(url)

"""Secrets given by reference in the configuration file, resolved when used.

A reference names an environment variable or a file (a mounted Kubernetes Secret); the
value is read only when a deployment is built and is kept as a ``SecretStr``, so it
never reaches a repr, a log line or an error message. A missing variable or unreadable
file is an error naming the reference, never the value.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import SecretStr

from agentqueue.core.base.errors import AgentQueueError
from agentqueue.core.config.schema import SecretRef


class SecretUnavailable(AgentQueueError):
    """A referenced secret is not there (variable unset or empty, file unreadable)."""


def resolve(ref: SecretRef) -> SecretStr:
    """The secret ``ref`` points at; :class:`SecretUnavailable` naming the reference."""
    if ref.env is not None:
        value = os.environ.get(ref.env, "")
        if not value:
            raise SecretUnavailable(f"environment variable {ref.env} is not set")
        return SecretStr(value)
    assert ref.file is not None
    try:
        value = Path(ref.file).read_text().strip()
    except OSError as exc:
        raise SecretUnavailable(f"secret file {ref.file}: {exc.strerror}") from None
    if not value:
        raise SecretUnavailable(f"secret file {ref.file} is empty")
    return SecretStr(value)


def resolve_optional(ref: SecretRef | None) -> SecretStr | None:
    return None if ref is None else resolve(ref)

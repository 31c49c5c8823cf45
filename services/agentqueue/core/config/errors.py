"""A configuration file's problems as one line: the file, the path, what is wrong.

The line is what ``agentqueue config check`` prints and what a service exits with, so it
names the place (``deployments[2].models[0].budget.rpm``) the way a person finds it in
the file, and never the value found there: a value may be a key pasted where a reference
belongs. pydantic's errors are read without their input; messages of our own validators
name fields and names, never values.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Sequence

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from agentqueue.core.base.errors import AgentQueueError

#: Problems listed in one line before the rest are only counted.
MAX_PROBLEMS = 8


class ConfigError(AgentQueueError):
    """The configuration file cannot be used; ``str()`` is one line naming file and path."""


def format_path(loc: Sequence[int | str]) -> str:
    """``("deployments", 2, "budget", "rpm")`` → ``deployments[2].budget.rpm``; a key
    that is not a plain name is quoted (``tenants["a b"]``)."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.replace("_", "a").replace("-", "a").isalnum():
            out += f".{part}" if out else part
        else:
            quoted = part.replace("\\", "\\\\").replace('"', '\\"')
            out += f'["{quoted}"]'
    return out


def validation_problems(exc: ValidationError, root: type[BaseModel]) -> list[str]:
    """Each error of ``exc`` (validating ``root``) as ``path: message``."""
    problems = []
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        loc = list(error["loc"])
        path = format_path(loc)
        message = _message(error, root, loc)
        problems.append(f"{path}: {message}" if path else message)
    return problems


def one_line(source: str, problems: Sequence[str]) -> str:
    """``source: problem; problem`` with at most :data:`MAX_PROBLEMS` listed."""
    shown = list(problems[:MAX_PROBLEMS])
    if len(problems) > MAX_PROBLEMS:
        shown.append(f"and {len(problems) - MAX_PROBLEMS} more")
    text = "; ".join(shown)
    return f"{source}: {' '.join(text.split())}"  # one line whatever a message holds


def _message(error: ErrorDetails, root: type[BaseModel], loc: list[int | str]) -> str:
    kind = error["type"]
    if kind == "missing":
        return "field required"
    if kind == "extra_forbidden":
        known = _fields_at(root, loc[:-1])
        name = str(loc[-1]) if loc else ""
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6) if known else []
        hint = f" (did you mean {close[0]}?)" if close else ""
        listed = f"; known: {', '.join(known)}" if known and not close else ""
        return f"unknown field{hint}{listed}"
    message = str(error["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return message[:1].lower() + message[1:]


def _fields_at(root: type[BaseModel], loc: Sequence[int | str]) -> list[str]:
    """The field names of the model found at ``loc`` under ``root`` (for a hint), or []."""
    current: object = root
    for part in loc:
        current = _unwrap(current, part)
        if current is None:
            return []
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _unwrap(annotation: object, part: int | str) -> object:
    """The type found one step (``part``) inside ``annotation``, or None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if isinstance(part, int):
            return None
        field = annotation.model_fields.get(part)
        return None if field is None else _strip_optional(field.annotation)
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is list and args:
        return _strip_optional(args[0]) if isinstance(part, int) else None
    if origin is dict and len(args) == 2:
        return _strip_optional(args[1])
    return None


def _strip_optional(annotation: object) -> object:
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        return members[0] if len(members) == 1 else None
    if origin is typing.Annotated:
        return _strip_optional(typing.get_args(annotation)[0])
    return annotation

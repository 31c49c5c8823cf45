"""Read the configuration file: YAML in, a validated :class:`AgentQueueConfig` out, or
one :class:`ConfigError` line.

Whatever is wrong — unreadable file, bad YAML, a section of the wrong shape, a secret
written inline — the error is a single line that names the file and where in it, and
never echoes what was found there (a value may be a key pasted by mistake; PyYAML's own
messages quote the offending line, so only their problem and position are kept).

Choices:

- ``yaml.safe_load`` semantics (no Python objects), and a key repeated in one mapping is
  an error: YAML would silently keep the last one, e.g. a second ``tenants:`` section.
- An empty file is an error, not an empty configuration: a file truncated mid-write must
  not be reloaded as "no deployments". The explicit empty configuration is ``version: 1``.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # no stubs installed; used in one place
from pydantic import ValidationError

from agentqueue.core.config.errors import ConfigError, one_line, validation_problems
from agentqueue.core.config.schema import AgentQueueConfig

#: A ConfigMap holds at most 1 MiB; a larger file is a mistake (or an attack).
MAX_BYTES = 1024 * 1024


class _UniqueKeyLoader(yaml.SafeLoader):  # type: ignore[misc]
    """``yaml.SafeLoader`` refusing a key repeated in one mapping."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)  # type: ignore[no-untyped-call]
        try:
            duplicate = key in seen
            seen.add(key)
        except TypeError:  # an unhashable key: let construct_mapping say so
            break
        if duplicate:
            problem = f"key {_shown_key(key)} appears twice in one mapping"
            raise yaml.constructor.ConstructorError(None, None, problem, key_node.start_mark)
    mapping: dict[Any, Any] = loader.construct_mapping(node, deep=True)
    return mapping


def _shown_key(key: object) -> str:
    text = str(key)
    return repr(text) if len(text) <= 40 else repr(text[:37] + "...")


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def parse_yaml(text: str, source: str) -> Any:
    """``text`` as plain data; :class:`ConfigError` ``source:LINE:COL: problem``."""
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        # problem and context are PyYAML's descriptions ("mapping values are not allowed
        # here"); the snippet it would print under them is the file's line: left out.
        parts = [p for p in (exc.context, exc.problem) if p]
        if "'\\t'" in (exc.problem or ""):
            parts.append("YAML indents with spaces, never tabs")
        raise ConfigError(one_line(where, [", ".join(parts) or "invalid YAML"])) from None
    except yaml.YAMLError as exc:  # a reader error (a control character), no mark
        problem = getattr(exc, "reason", None) or type(exc).__name__
        position = getattr(exc, "position", None)
        where = f"{source} (character {position})" if position is not None else source
        raise ConfigError(one_line(where, [f"not readable as YAML: {problem}"])) from None


def parse_config(data: Any, source: str) -> AgentQueueConfig:
    """Parsed YAML ``data`` validated as the configuration; :class:`ConfigError`."""
    if data is None:
        raise ConfigError(
            one_line(source, ["the file is empty (an empty configuration is `version: 1`)"])
        )
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"a single {type(data).__name__} value"
        problem = f"the top level must be a mapping of sections (deployments:, …), not {kind}"
        raise ConfigError(one_line(source, [problem]))
    try:
        return AgentQueueConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(one_line(source, validation_problems(exc, AgentQueueConfig))) from None


def read_text(path: str | os.PathLike[str]) -> str:
    """The file's text; :class:`ConfigError` naming the file and the system's reason."""
    source = os.fspath(path)
    try:
        with Path(path).open("rb") as file:
            raw = file.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ConfigError(one_line(source, [f"cannot read: {exc.strerror or exc}"])) from None
    if len(raw) > MAX_BYTES:
        raise ConfigError(one_line(source, [f"larger than {MAX_BYTES} bytes"]))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(one_line(source, [f"not UTF-8 text (byte {exc.start})"])) from None


def load_config(path: str | os.PathLike[str]) -> AgentQueueConfig:
    """The configuration in the YAML file ``path``, validated; :class:`ConfigError`."""
    source = os.fspath(path)
    return parse_config(parse_yaml(read_text(path), source), source)


_cache: dict[str, tuple[tuple[int, int, int, str], AgentQueueConfig]] = {}
_cache_lock = threading.Lock()


def file_signature(path: str | os.PathLike[str]) -> tuple[int, int, int, str] | None:
    """What changes when the file does: inode, size and mtime of the file ``path``
    resolves to (a Kubernetes ConfigMap is updated by swapping a symlink), or None when
    it cannot be read."""
    try:
        real = os.path.realpath(path)
        stat = os.stat(real)
    except OSError:
        return None
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns, real)


def cached_config(path: str | os.PathLike[str]) -> AgentQueueConfig:
    """:func:`load_config`, read again only when the file changed (every settings object
    of a process reads it; the services build several)."""
    key = os.fspath(path)
    signature = file_signature(path)
    with _cache_lock:
        hit = _cache.get(key)
    if signature is not None and hit is not None and hit[0] == signature:
        return hit[1]
    config = load_config(path)
    if signature is not None:
        with _cache_lock:
            _cache[key] = (signature, config)
    return config

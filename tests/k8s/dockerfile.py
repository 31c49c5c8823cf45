"""A small Dockerfile reader: instructions per stage, continuation lines joined.

Enough to check our own Dockerfile by reading it (there is no Docker engine in CI).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Stage:
    base: str  # build args substituted: an image, or an earlier stage's name
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)
    source: str = ""  # the FROM argument as written, e.g. ${PYTHON_IMAGE}

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]


def parse(path: Path) -> tuple[dict[str, str], list[Stage]]:
    """(global ARG defaults, stages) of a Dockerfile."""
    lines, current = [], ""
    for raw in path.read_text().splitlines():
        if not current and (not raw.strip() or raw.lstrip().startswith("#")):
            continue
        if raw.endswith("\\"):
            current += raw[:-1] + "\n"
            continue
        lines.append(current + raw)
        current = ""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in lines:
        keyword, _, rest = line.strip().partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            match = re.fullmatch(r"(\S+)(?:\s+AS\s+(\S+))?", rest.strip(), re.IGNORECASE)
            assert match, line
            base = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], match.group(1))
            stages.append(Stage(base, match.group(2), source=match.group(1)))
        elif keyword == "ARG" and not stages:
            name, _, default = rest.strip().partition("=")
            args[name] = default
        else:
            assert stages, f"{keyword} before FROM"
            stages[-1].instructions.append((keyword, rest.strip()))
    return args, stages


def exec_form(args: str) -> list[str]:
    """The JSON array of an exec-form CMD/ENTRYPOINT (raises on shell form)."""
    value = json.loads(args)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), args
    return value


def chain(stages: list[Stage], name: str) -> list[Stage]:
    """The stage called ``name`` and the stages it is built FROM, base first."""
    by_name = {s.name: s for s in stages if s.name}
    found = [by_name[name]]
    while found[0].base in by_name:
        found.insert(0, by_name[found[0].base])
    return found


def effective(stages: list[Stage], name: str, keyword: str) -> list[str]:
    """Every ``keyword`` instruction a target inherits and adds, in order."""
    return [args for stage in chain(stages, name) for args in stage.all(keyword)]

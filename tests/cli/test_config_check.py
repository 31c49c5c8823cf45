"""``agentqueue config check FILE``: exit 0 and a summary, or exit 2 and one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.core.config.test_loader import BAD_YAML, BROKEN, SECRET

AGENTQUEUE = str(Path(sys.executable).with_name("agentqueue"))
REPO = Path(__file__).resolve().parents[2]

_PICKED = {
    "unknown field rmp",
    "secret inline",
    "duplicate deployment",
    "missing kind",
    "top-level list",
    "empty file",
    "tab",
    "unclosed bracket",
}
#: A few of the loader's cases (file text as written, the line's end), through the command.
CASES = [(c, textwrap.dedent(t), e) for c, t, e in BROKEN if c in _PICKED]
CASES += [(c, t, e) for c, t, e in BAD_YAML if c in _PICKED]


def _check(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [AGENTQUEUE, "config", "check", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **(env or {})},
    )


@pytest.mark.parametrize(("case", "text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_a_broken_file_exits_2_with_one_line(
    case: str, text: str, expected: str, tmp_path: Path
) -> None:
    path = tmp_path / "agentqueue.yaml"
    path.write_text(text)
    done = _check(str(path))
    assert done.returncode == 2
    assert done.stdout == ""
    err = done.stderr.strip()
    assert "\n" not in err and "Traceback" not in err and SECRET not in err
    assert err.startswith(f"agentqueue: {path}")
    assert err.endswith(expected)


def test_a_good_file_is_summarised_and_unset_secrets_are_warned_about(tmp_path: Path) -> None:
    example = REPO / "docs" / "config.example.yaml"
    secret_file = tmp_path / "key"
    secret_file.write_text(SECRET)
    done = _check(str(example), env={"ANTHROPIC_API_KEY": SECRET})
    assert done.returncode == 0, done.stderr
    out = done.stdout.strip()
    assert out.startswith(f"{example}: valid: ") and "deployments (" in out
    assert SECRET not in done.stdout + done.stderr
    warnings = done.stderr.strip().splitlines()
    assert warnings and all(w.startswith(f"warning: {example}: deployments[") for w in warnings)
    assert not any("ANTHROPIC_API_KEY" in w for w in warnings)  # set: no warning


def test_the_schema_can_be_printed() -> None:
    done = _check("--print-schema")
    assert done.returncode == 0
    schema = json.loads(done.stdout)
    assert schema["additionalProperties"] is False and "deployments" in schema["properties"]


def test_a_missing_file_is_one_line(tmp_path: Path) -> None:
    done = _check(str(tmp_path / "nope.yaml"))
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"agentqueue: {tmp_path / 'nope.yaml'}: cannot read: No such file or directory"
    )

"""The chart's README is generated from values.yaml's comments (scripts/chart-readme): the
committed one must be what the script writes now, and every key must have its comment."""

from __future__ import annotations

import importlib.machinery
import importlib.util
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "chart-readme"


def _script() -> ModuleType:
    loader = importlib.machinery.SourceFileLoader("chart_readme", str(SCRIPT))
    spec = importlib.util.spec_from_loader("chart_readme", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_the_committed_readme_is_what_the_script_generates() -> None:
    script = _script()
    assert script.README.read_text() == script.render(), (
        "charts/agentqueue/README.md is stale: run .venv/bin/python scripts/chart-readme"
    )


def test_every_value_has_a_description() -> None:
    assert _script().undocumented() == []


def test_a_comment_documents_the_key_right_below_it_and_nothing_else() -> None:
    script = _script()
    text = """# a file header: no key's
top:
  # -- Spread over
  # two lines.
  nested: 1
  # -- A list, whose items are not keys.
  items:
    - name: x
      value: y
  # -- Detached by the blank line below.

  detached: ""
  # a plain comment, not a description
  plain: true
"""
    assert script.commented_keys(text) == [
        script.Key(("top",), ""),
        script.Key(("top", "nested"), "Spread over two lines."),
        script.Key(("top", "items"), "A list, whose items are not keys."),
        script.Key(("top", "detached"), ""),
        script.Key(("top", "plain"), ""),
    ]

"""``agentqueue demo`` end to end: the README's main command, smaller."""

import os
import subprocess
import sys

import pytest

from agentqueue.cli.demo import DemoReport, workload

pytestmark = pytest.mark.slow


def test_workload_is_reproducible_and_mixed() -> None:
    bodies = workload(200)
    assert bodies == workload(200)
    assert {b["priority"] for b in bodies} == {"high", "standard", "batch"}
    assert {b["tier"] for b in bodies} == {"frontier", "efficient"}


def test_report_needs_every_task_succeeded() -> None:
    report = DemoReport(
        submitted=2, tasks={"a": {"status": "succeeded"}, "b": {"status": "failed"}}
    )
    assert not report.all_succeeded
    report.tasks["b"]["status"] = "succeeded"
    assert report.all_succeeded


def test_demo_runs_the_stack_survives_an_outage_and_summarises() -> None:
    """A key in the shell changes nothing: the demo simulates every provider (the key's
    base URL answers nothing here, so one real call would fail the demo)."""
    result = subprocess.run(
        [sys.executable, "-m", "agentqueue.cli", "demo", "--tasks", "60", "--rate", "10"],
        env={
            **os.environ,
            "OPENAI_API_KEY": "sk-not-a-real-key",
            "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
        },
        capture_output=True,
        text=True,
        timeout=240,
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "done 60/60, failed 0" in out
    assert "every task succeeded" in out
    assert "simulated anthropic outage" in out
    fell_back = int(out.split("fell back to another provider: ")[1].split(";")[0])
    assert fell_back > 0  # tasks submitted during the outage were answered by OpenAI

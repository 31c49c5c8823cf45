"""Operations errors are one readable line: no traceback, no secret."""

from __future__ import annotations

import json

import pytest

from agentqueue.cli.__main__ import main
from agentqueue.core.base.ports import free_port

PASSWORD = "hunter2-SECRET-pw"


@pytest.mark.parametrize("argv", [["report"], ["keys", "list"], ["keys", "revoke", "k1"]])
def test_an_unreachable_redis_is_one_line_without_the_password(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    monkeypatch.setenv("AGENTQUEUE_REDIS_URL", f"redis://admin:{PASSWORD}@127.0.0.1:{port}/0")
    assert main(argv) == 1
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert err == (
        f"agentqueue: cannot reach Redis at redis://admin:***@127.0.0.1:{port}/0: "
        "Connection refused"
    )
    assert PASSWORD not in captured.out + captured.err and "Traceback" not in err


def test_a_settings_error_is_one_line_without_the_input(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AGENTQUEUE_REDIS_URL", f"redis://:{PASSWORD}@127.0.0.1:1/0")
    monkeypatch.setenv("AGENTQUEUE_TENANT_QUOTAS", json.dumps({"acme": {"tmp": 5}}))
    assert main(["report"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and PASSWORD not in err
    assert err.startswith("agentqueue: invalid configuration: AGENTQUEUE_TENANT_QUOTAS")
    assert "'tmp'" in err


def test_unparsable_json_settings_are_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AGENTQUEUE_BUDGETS", f"not json {PASSWORD}")
    assert main(["report"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and PASSWORD not in err and "budgets" in err

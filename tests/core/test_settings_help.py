"""A service's ``--help`` lists its environment variables and never shows a secret."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from agentqueue.core.settings import CoreSettings, environment_lines, parse_service_args


def test_help_lists_every_variable_with_its_default(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        parse_service_args("python -m agentqueue.x", "Serve x.", CoreSettings, ["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "Serve x." in out
    assert "AGENTQUEUE_CACHE_TTL  (default: 3600)" in out
    assert "AGENTQUEUE_OPENAI_API_KEY | OPENAI_API_KEY  (default: unset)" in out


def test_a_secret_default_is_never_printed() -> None:
    class WithSecret(CoreSettings):
        token: SecretStr = SecretStr("hunter2-do-not-print")

    lines = environment_lines(WithSecret)
    assert not any("hunter2" in line for line in lines)
    assert "  AGENTQUEUE_TOKEN  (default: hidden (a secret))" in lines


def test_any_other_argument_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        parse_service_args("svc", None, CoreSettings, ["--port", "1"])
    assert exit_.value.code == 2
    assert "unrecognized arguments: --port 1" in capsys.readouterr().err

"""JSON log lines: RFC 3339 UTC times, ``extra=`` fields as fields of their own."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from decimal import Decimal

import pytest

from agentqueue.core.base.logs import configure_logging, rfc3339


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    configure_logging("test", fmt="json")
    out = io.StringIO()
    root.handlers[0].setStream(out)  # type: ignore[attr-defined]
    yield out
    root.handlers[:] = saved
    root.setLevel(level)


def test_rfc3339_is_utc_with_milliseconds_and_z() -> None:
    assert rfc3339(1_796_037_903.1234) == "2026-11-30T11:25:03.123Z"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", rfc3339(0.0))


def test_json_lines_carry_the_extra_fields_as_fields(json_lines: io.StringIO) -> None:
    logging.getLogger("agentqueue.llm").info(
        "llm call %s", "x", extra={"task_id": "t-1", "cost_usd": Decimal("0.0125"), "gone": None}
    )
    entry = json.loads(json_lines.getvalue().splitlines()[-1])
    assert entry["msg"] == "llm call x"
    assert entry["level"] == "info" and entry["service"] == "test"
    assert entry["logger"] == "agentqueue.llm"
    assert entry["task_id"] == "t-1"
    assert entry["cost_usd"] == 0.0125  # a number, not a string
    assert "gone" not in entry  # None fields are left out
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entry["time"])


def test_uvicorn_access_log_is_off(json_lines: io.StringIO) -> None:
    logging.getLogger("uvicorn.access").info('127.0.0.1 - "GET / HTTP/1.1" 200')
    assert json_lines.getvalue() == ""


def test_rfc3339_agrees_with_datetime_across_seconds() -> None:
    """The date and time of day are cached per second: the milliseconds and the second
    itself still move with every call."""
    from datetime import UTC, datetime

    for created in (1_796_037_903.0, 1_796_037_903.999, 1_796_037_904.001, 86_399.5, 86_400.25):
        stamp = datetime.fromtimestamp(created, tz=UTC)
        expected = stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"
        assert rfc3339(created) == expected


def test_json_lines_write_what_json_cannot_as_text(json_lines: io.StringIO) -> None:
    import enum
    from pathlib import PurePosixPath

    class Colour(enum.Enum):
        RED = "red"

    logging.getLogger("agentqueue.x").info(
        "x", extra={"colour": Colour.RED, "where": PurePosixPath("/a/b"), "ids": ["a", "b"]}
    )
    entry = json.loads(json_lines.getvalue().splitlines()[-1])
    assert entry["colour"] == "Colour.RED" and entry["where"] == "/a/b"
    assert entry["ids"] == ["a", "b"]  # a list stays a list

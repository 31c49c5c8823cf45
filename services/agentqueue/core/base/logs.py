"""One logging setup for every service: readable text locally, JSON lines in clusters.

Each line carries the service name, so that ``agentqueue up``'s interleaved output and a
cluster's log pipeline both say which process spoke. Secrets never reach a log call:
settings hold them as ``SecretStr`` and provider configs hide keys from their repr.

A log call's structured facts go in ``extra=`` (an LLM call's latency, tokens, cost,
provider, task id…; a request's route, status, duration): the text line keeps its
readable message, the JSON line carries them as fields of their own, next to an RFC 3339
UTC ``time`` (``2026-11-30T11:25:03.123Z``) and the current OpenTelemetry trace and span
ids when a span is recording (the ``opentelemetry`` API, if installed).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

#: Attributes every LogRecord has: anything else on a record came from ``extra=``.
_RECORD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}


def rfc3339(created: float) -> str:
    """``created`` (epoch seconds) as RFC 3339 UTC with milliseconds and a ``Z``."""
    stamp = datetime.fromtimestamp(created, tz=UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The fields a log call passed with ``extra=`` (None values left out)."""
    return {
        key: value
        for key, value in record.__dict__.items()
        if key not in _RECORD_ATTRS and not key.startswith("_") and value is not None
    }


def _trace_ids() -> dict[str, str]:
    """The current span's trace and span ids, when OpenTelemetry has a recording one."""
    try:
        from opentelemetry import trace
    except ImportError:  # pragma: no cover - the API is a dependency, but optional here
        return {}
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return {}
    return {"trace_id": f"{context.trace_id:032x}", "span_id": f"{context.span_id:016x}"}


def _jsonable(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, Decimal):
        return float(value)
    return str(value)  # Decimal, enums, paths: their text


class _JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": rfc3339(record.created),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in extra_fields(record).items():
            entry.setdefault(key, _jsonable(value))
        for key, value in _trace_ids().items():
            entry.setdefault(key, value)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure_logging(service: str, *, level: str = "INFO", fmt: str = "text") -> None:
    """Replace the root handlers with one stderr handler in the chosen format."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(_JsonFormatter(service))
    else:
        formatter = logging.Formatter(
            f"%(asctime)s.%(msecs)03d {service:<9} %(levelname)-7s %(name)s: %(message)s",
            datefmt="%H:%M:%S",
        )
        formatter.converter = time.localtime
        handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "httpx2"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # the gateway writes its own access line per request (gateway/accesslog.py)
    logging.getLogger("uvicorn.access").disabled = True

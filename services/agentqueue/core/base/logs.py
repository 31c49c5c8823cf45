"""One logging setup for every service: readable text locally, JSON lines in clusters.

Each line carries the service name, so that ``agentqueue up``'s interleaved output and a
cluster's log pipeline both say which process spoke. Secrets never reach a log call:
settings hold them as ``SecretStr`` and provider configs hide keys from their repr.

A log call's structured facts go in ``extra=`` (an LLM call's latency, tokens, cost,
provider, task id…; a request's route, status, duration): the text line keeps its
readable message, the JSON line carries them as fields of their own, next to an RFC 3339
UTC ``time`` (``2026-11-30T11:25:03.123Z``) and the current OpenTelemetry trace and span
ids when a span is recording.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
import time
from decimal import Decimal
from typing import Any

from opentelemetry.trace import get_current_span

#: Attributes every LogRecord has: anything else on a record came from ``extra=``.
_RECORD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}


@functools.lru_cache(maxsize=4)
def _rfc3339_second(second: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(second))


def rfc3339(created: float) -> str:
    """``created`` (epoch seconds) as RFC 3339 UTC with milliseconds and a ``Z``; the
    date and time of day formatted once per second (a busy gateway logs hundreds of
    lines in each)."""
    millis = int(created * 1000)
    return f"{_rfc3339_second(millis // 1000)}{millis % 1000:03d}Z"


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The fields a log call passed with ``extra=`` (None values left out)."""
    return {
        key: value
        for key, value in record.__dict__.items()
        if key not in _RECORD_ATTRS and not key.startswith("_") and value is not None
    }


def _trace_ids() -> dict[str, str]:
    """The current span's trace and span ids, when OpenTelemetry has a recording one."""
    context = get_current_span().get_span_context()
    if not context.is_valid:
        return {}
    return {"trace_id": f"{context.trace_id:032x}", "span_id": f"{context.span_id:016x}"}


def _jsonable(value: Any) -> Any:
    """What ``json`` cannot write itself: a Decimal as its number, anything else (an
    enum, a path) as its text."""
    if isinstance(value, Decimal):
        return float(value)
    return str(value)


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
            entry.setdefault(key, value)
        for key, value in _trace_ids().items():
            entry.setdefault(key, value)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=_jsonable)


def _skip_unused_record_fields() -> None:
    """Stop filling in the record fields neither format writes: where the call was made
    (a walk up the stack), the thread, the process and its name, the asyncio task. The
    logging HOWTO's "Optimization" section names these switches; together they are a
    third of a line's cost (the gateway writes one per request: 27 -> 17 us a line)."""
    logging._srcfile = None  # type: ignore[attr-defined]  # the HOWTO's own spelling
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    if hasattr(logging, "logAsyncioTasks"):  # Python 3.12+
        logging.logAsyncioTasks = False


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
    _skip_unused_record_fields()
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "httpx2"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # the gateway writes its own access line per request (gateway/accesslog.py)
    logging.getLogger("uvicorn.access").disabled = True

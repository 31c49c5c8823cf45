"""Scheduled outage windows: a provider down from second A to second B after start.

Written as ``provider:A-B`` pairs, comma-separated (``anthropic:10-20,all:40-45``), so a
benchmark or demo can script a whole day's failures up front, in addition to switching
``outage`` on and off at run time.
"""

from __future__ import annotations

from dataclasses import dataclass

from agentqueue.simulator.providers import PROVIDERS


@dataclass(frozen=True)
class OutageWindow:
    provider: str
    start: float
    end: float


def parse_outages(spec: str) -> list[OutageWindow]:
    windows = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        provider, sep, span = part.partition(":")
        start, dash, end = span.partition("-")
        try:
            window = OutageWindow(provider, float(start), float(end))
        except ValueError:
            window = None
        if not sep or not dash or window is None or window.end <= window.start:
            raise ValueError(f"outage {part!r}: expected provider:start-end in seconds")
        if provider != "all" and provider not in PROVIDERS:
            raise ValueError(f"outage {part!r}: unknown provider {provider!r}")
        windows.append(window)
    return windows


def in_outage(windows: list[OutageWindow], provider: str, elapsed: float) -> bool:
    return any(w.provider in (provider, "all") and w.start <= elapsed < w.end for w in windows)

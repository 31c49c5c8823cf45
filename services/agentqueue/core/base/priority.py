"""Task priorities: each is its own queue, worker Deployment and share of the budget."""

from __future__ import annotations

from enum import StrEnum


class Priority(StrEnum):
    HIGH = "high"
    STANDARD = "standard"
    BATCH = "batch"

"""Status conditions in the Kubernetes convention: a transition time that only moves when
the status does, so ``kubectl describe`` says since when a queue has been budget-limited,
not when the operator last looked."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Condition:
    type: str
    status: bool
    reason: str
    message: str


def merge_conditions(
    previous: Iterable[Mapping[str, Any]] | None, current: Sequence[Condition], now: str
) -> list[dict[str, str]]:
    """``current`` as status entries, keeping each unchanged condition's transition time."""
    before = {c.get("type"): c for c in previous or ()}
    out = []
    for cond in current:
        status = "True" if cond.status else "False"
        old = before.get(cond.type)
        since = old.get("lastTransitionTime") if old and old.get("status") == status else None
        out.append(
            {
                "type": cond.type,
                "status": status,
                "reason": cond.reason,
                "message": cond.message,
                "lastTransitionTime": since or now,
            }
        )
    return out

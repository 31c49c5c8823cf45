"""Status conditions in the Kubernetes convention: a transition time that only moves when
the status does, so ``kubectl describe`` says since when a queue has been budget-limited
(or failing), not when the operator last looked."""

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


Conditions = list[dict[str, str]]


class DecidedConditions:
    """Per object, the conditions this process last decided: what the next merge builds on.

    The object's own status lags behind: a write comes back through the watch a moment
    later, and a refused write never does. Merging against it would move a transition
    time (and repeat a Warning) every interval it lags. So the last decision is used
    instead, as long as the object shows nothing but what this process built on or wrote
    since (a chain: writes land out of step with the intervals). Conditions written by
    anyone else (a peer operator active meanwhile, a restore) win and start a new chain.
    """

    #: Writes remembered besides the first one built on; the object never lags more.
    KEEP = 8

    def __init__(self) -> None:
        self._chains: dict[str, list[Conditions]] = {}

    def previous(self, key: str, shown: Iterable[Mapping[str, Any]] | None) -> Conditions:
        """The conditions to merge against, given those the object shows."""
        shown_ = [dict(c) for c in shown or ()]
        chain = self._chains.get(key)
        return chain[-1] if chain and shown_ in chain else shown_

    def decided(
        self, key: str, shown: Iterable[Mapping[str, Any]] | None, conditions: Conditions
    ) -> None:
        shown_ = [dict(c) for c in shown or ()]
        chain = self._chains.get(key)
        if not chain or shown_ not in chain:
            chain = [shown_]
        if chain[-1] != conditions:
            chain = [chain[0], *chain[1:][-(self.KEEP - 1) :], conditions]
        self._chains[key] = chain

    def forget(self, key: str) -> None:
        self._chains.pop(key, None)

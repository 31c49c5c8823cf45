"""Scale up at once, scale down only when a whole window agrees (the HPA's rule).

Queue depth is spiky: a burst drains, the next arrives seconds later. Removing workers
the moment the queue empties and adding them back on the next burst churns pods (each
start costs SDK imports and client set-up) and kills warm workers. The HorizontalPod-
Autoscaler's answer, kept here: remember every recommendation of the last
``stabilization_seconds`` and apply the highest. A rise shows at once (it is the newest
and highest); a fall only once every higher recommendation has aged out of the window.

One exception: a lower *budget* cap applies at once. Extra workers on a budget that
cannot feed them only queue at the limiter (or, without one, draw provider 429s), so the
cap is a ceiling over the stabilized value, not one more recommendation in the window.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass
class StabilizationWindow:
    seconds: float
    _history: deque[tuple[float, int]] = field(default_factory=deque)

    def apply(self, now: float, recommended: int, *, ceiling: int | None = None) -> int:
        """Record ``recommended`` at ``now``; the replicas to run (at most ``ceiling``)."""
        self._history.append((now, recommended))
        while self._history and self._history[0][0] < now - self.seconds:
            self._history.popleft()
        highest = max(r for _, r in self._history)
        return highest if ceiling is None else min(highest, max(ceiling, recommended))

    def resize(self, seconds: float) -> None:
        self.seconds = seconds

"""bench/scenario without running it: the workload is what its docstring says, and the
table's budget share is what the providers allowed, measured over the right window."""

from __future__ import annotations

from collections import Counter

import pytest

from bench.scenario.limits import TIERS
from bench.scenario.outcome import RunResult, Sample
from bench.scenario.report import budget_shares
from bench.scenario.workload import CALLS_PER_SESSION, build


def test_the_workload_is_1000_sessions_of_ten_calls_in_the_stated_mix() -> None:
    sessions = build()
    assert len(sessions) == 1000
    kinds = Counter(s.kind for s in sessions)
    assert kinds == {"chat": 100, "agent": 450, "research": 450}
    for s in sessions:
        calls = len(s.turns) if s.kind != "research" else len(s.sub_questions) + 1
        assert calls == CALLS_PER_SESSION
    priorities = Counter((s.kind, s.priority.value) for s in sessions)
    assert set(priorities) == {
        ("chat", "high"),
        ("agent", "high"),
        ("agent", "standard"),
        ("research", "standard"),
        ("research", "batch"),
    }
    assert build() == sessions  # the same seed, the same workload for both architectures
    assert max(s.start_at for s in sessions) <= 30.0


def test_about_a_fifth_of_the_calls_repeat_an_earlier_one() -> None:
    sessions = build()
    research_repeats = sum(s.repeat for s in sessions if s.kind == "research")
    first_call_repeats = sum(s.repeat for s in sessions if s.kind != "research")
    repeated_calls = research_repeats * CALLS_PER_SESSION + first_call_repeats
    assert 0.15 <= repeated_calls / (len(sessions) * CALLS_PER_SESSION) <= 0.3


def _run(samples: list[Sample]) -> RunResult:
    return RunResult("t", 0.0, 100.0, [], samples, {}, {})


def test_the_budget_share_is_refill_served_while_work_waits_outside_the_outage() -> None:
    anthropic = next(t for t in TIERS if t.provider == "anthropic")
    minute = 10.0
    per_second = anthropic.tpm / minute  # what the provider refills a second
    samples = []
    for second in range(0, 61):
        waiting = 5 if 0 <= second <= 50 else 0
        # serves the full refill every second, except during the outage (20 s to 30 s)
        served = per_second * (min(second, 20) + max(0, second - 30))
        samples.append(Sample(float(second), waiting, {"anthropic:m": (second, int(served))}))
    shares = budget_shares(_run(samples), minute, outage=(20.0, 30.0))
    requests, tokens = shares["anthropic:m"]
    assert tokens == pytest.approx(1.0, rel=0.01)  # the outage and the idle tail left out
    assert requests == pytest.approx(minute / anthropic.rpm, rel=0.05)  # one call a second

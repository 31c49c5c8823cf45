"""bench/scenario without running it: the workload is what its docstring says, and the
table's budget share is what the providers allowed, measured over the right window."""

from __future__ import annotations

from collections import Counter

import pytest

from bench.scenario.limits import TIERS
from bench.scenario.outcome import Call, RunResult, Sample, SessionOutcome
from bench.scenario.report import budget_shares, fallbacks_by_priority
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


def test_slow_turns_are_told_by_the_gateways_server_timing() -> None:
    from bench.scenario.outcome import SessionOutcome, Task
    from bench.scenario.report import slow_turn_causes, slowest_turns

    def turn(ttft: float, timing: str) -> Task:
        return Task("high", 100.0, ttft=ttft, timing=timing, headers_s=ttft)

    chat = SessionOutcome(0, "chat", "high", 100.0)
    chat.tasks = [
        turn(0.21, "budget;dur=1.0, provider;dur=200.0, total;dur=205.0"),
        turn(0.71, "budget;dur=2.0, failed;dur=400.0, provider;dur=300.0, total;dur=705.0"),
        turn(0.60, "cache;dur=300.0, budget;dur=90.0, provider;dur=205.0, total;dur=600.0"),
        turn(0.95, "provider;dur=205.0, total;dur=210.0"),  # 740 ms outside the gateway
    ]
    run = RunResult("agentqueue", 0.0, 200.0, [chat], [], {}, {}, idle_ttft=[0.2, 0.21])
    told = slow_turn_causes(run)
    assert told.startswith("turns over 2x idle p99 (420 ms): 3;")
    assert "failed attempt 1" in told and "budget > 50 ms 1" in told
    assert "cache > 50 ms 1" in told and "outside the gateway > 100 ms 1" in told
    assert "provider > 310 ms 0" in told
    [worst, *_] = slowest_turns(run)
    assert "TTFT 950 ms" in worst and "total;dur=210.0" in worst


def test_fallbacks_are_counted_per_priority_with_chats_apart() -> None:
    def session(kind: str, priority: str, fell_back: list[bool]) -> SessionOutcome:
        calls = [Call("openai" if f else "anthropic", "m", fell_back=f) for f in fell_back]
        return SessionOutcome(0, kind, priority, 0.0, calls=calls)

    run = RunResult("t", 0.0, 1.0, [], [], {}, {})
    run.sessions = [
        session("chat", "high", [True, False]),
        session("agent", "high", [False]),
        session("agent", "standard", [True, True]),
        session("research", "standard", [True]),
        session("research", "batch", [False, True]),
    ]
    assert fallbacks_by_priority(run) == "1, 0, 3, 1"

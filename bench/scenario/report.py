"""The side-by-side table: both runs' figures from their sessions, samples and counters."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, Iterable

from bench.scenario.limits import PRIMARY, TIERS
from bench.scenario.outcome import RunResult, Sample


def pct(values: Iterable[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def ms(v: float) -> str:
    return f"{v * 1000:,.0f}"


def waiting_window(samples: list[Sample]) -> tuple[float, float]:
    """From the first to the last sample with work waiting."""
    busy = [s.at for s in samples if s.waiting > 0]
    return (busy[0], busy[-1]) if busy else (0.0, 0.0)


def budget_shares(
    run: RunResult, minute_seconds: float, outage: tuple[float, float]
) -> dict[str, tuple[float, float]]:
    """Per ``provider:model``: the share of its requests and of its tokens per minute it
    served while work was waiting (the primary's models: outside its outage), from one
    minute after the first wait (the bucket's first minute, full at the start, is not
    refill: counting it would flatter the share)."""
    start, end = waiting_window(run.samples)
    start += minute_seconds
    down = (run.started + outage[0], run.started + outage[1])
    limits = {t.provider: t for t in TIERS}
    used: dict[str, list[float]] = {}
    for a, b in zip(run.samples, run.samples[1:], strict=False):
        if a.at < start or b.at > end:
            continue
        for name, (requests, tokens) in b.served.items():
            provider = name.split(":", 1)[0]
            if provider == PRIMARY and a.at < down[1] and b.at > down[0]:
                continue
            before = a.served.get(name, (0, 0))
            acc = used.setdefault(name, [0.0, 0.0, 0.0])
            acc[0] += requests - before[0]
            acc[1] += tokens - before[1]
            acc[2] += b.at - a.at
    out = {}
    for name, (requests, tokens, seconds) in used.items():
        tier = limits[name.split(":", 1)[0]]
        minutes = seconds / minute_seconds
        out[name] = (requests / (tier.rpm * minutes), tokens / (tier.tpm * minutes))
    return out


def fallbacks_by_priority(run: RunResult) -> str:
    """The chats' calls answered by another provider than the primary, then the
    background sessions' at each priority: which work spills when the primary is out or
    full."""
    groups = [[s for s in run.sessions if s.kind == "chat"]] + [
        [s for s in run.sessions if s.kind != "chat" and s.priority == p]
        for p in ("high", "standard", "batch")
    ]
    return ", ".join(f"{sum(c.fell_back for s in g for c in s.calls):,}" for g in groups)


def _row(label: str, values: list[str], width: int = 26) -> str:
    return f"{label:<34}" + "".join(f"{v:>{width}}" for v in values)


def table(
    runs: list[RunResult],
    *,
    minute_seconds: float,
    outage: tuple[float, float],
    per_day: int,
) -> str:
    lines = [_row("", [r.name for r in runs]), _row("", ["-" * 20 for _ in runs])]

    def add(label: str, f: Callable[[RunResult], str]) -> None:
        lines.append(_row(label, [f(r) for r in runs]))

    add("run, seconds", lambda r: f"{r.ended - r.started:,.0f}")
    for kind in ("chat", "agent", "research"):
        add(
            f"{kind} sessions ok / failed",
            lambda r, k=kind: (
                f"{sum(s.ok for s in r.sessions if s.kind == k)} / "
                f"{sum(not s.ok for s in r.sessions if s.kind == k)}"
            ),
        )
    add(
        "all sessions ok / failed",
        lambda r: f"{sum(s.ok for s in r.sessions)} / {sum(not s.ok for s in r.sessions)}",
    )

    def tasks(r: RunResult) -> list:  # type: ignore[type-arg]
        return [t for s in r.sessions if s.kind != "chat" for t in s.tasks]

    add(
        "queued tasks ok / failed",
        lambda r: f"{sum(t.ok for t in tasks(r))} / {sum(not t.ok for t in tasks(r))}",
    )
    add("LLM calls answered", lambda r: f"{sum(len(s.calls) for s in r.sessions):,}")
    add(
        "provider 429s",
        lambda r: ", ".join(f"{p} {n}" for p, n in sorted(r.rate_limited.items())) or "0",
    )
    add(
        "provider errors (outage)",
        lambda r: ", ".join(f"{p} {n}" for p, n in sorted(r.provider_errors.items())) or "0",
    )
    shares = {r.name: budget_shares(r, minute_seconds, outage) for r in runs}
    names = sorted({n for s in shares.values() for n in s})
    for name in names:
        add(
            f"budget used {name.split(':', 1)[1]} (rpm/tpm)",
            lambda r, n=name: "{:.0%} / {:.0%}".format(*shares[r.name].get(n, (0.0, 0.0))),
        )

    def ttft(r: RunResult, during: bool | None = None) -> list[float]:
        down = (r.started + outage[0], r.started + outage[1])
        out = []
        for s in r.sessions:
            if s.kind != "chat":
                continue
            for t in s.tasks:
                if t.ttft is None or t.cached:
                    continue
                inside = down[0] <= t.submitted < down[1]
                if during is None or during == inside:
                    out.append(t.ttft)
        return out

    add(
        "chat TTFT idle p50 / p99 ms",
        lambda r: f"{ms(pct(r.idle_ttft, 0.5))} / {ms(pct(r.idle_ttft, 0.99))}",
    )
    add(
        "chat TTFT loaded p50 / p99 ms",
        lambda r: f"{ms(pct(ttft(r), 0.5))} / {ms(pct(ttft(r), 0.99))}",
    )
    add(
        "  outside the outage",
        lambda r: f"{ms(pct(ttft(r, False), 0.5))} / {ms(pct(ttft(r, False), 0.99))}",
    )
    add(
        "  during the outage",
        lambda r: f"{ms(pct(ttft(r, True), 0.5))} / {ms(pct(ttft(r, True), 0.99))}",
    )
    add(
        "loaded p99 / idle p99",
        lambda r: f"{pct(ttft(r), 0.99) / max(pct(r.idle_ttft, 0.99), 1e-9):.2f}x",
    )
    for priority in ("high", "standard", "batch"):
        add(
            f"task latency {priority} p50 / p99 s",
            lambda r, p=priority: (lambda v: f"{pct(v, 0.5):.1f} / {pct(v, 0.99):.1f}")(
                [t.finished - t.submitted for t in tasks(r) if t.priority == p and t.ok]
            ),
        )
    for kind in ("chat", "agent", "research"):
        add(
            f"{kind} session p50 / p99 s",
            lambda r, k=kind: (lambda v: f"{pct(v, 0.5):.1f} / {pct(v, 0.99):.1f}")(
                [s.finished - s.started for s in r.sessions if s.kind == k and s.ok]
            ),
        )

    def costs(r: RunResult) -> list[float]:
        return [s.cost_usd for s in r.sessions if s.ok]

    add(
        "cost/session p50 / p90 $", lambda r: f"{pct(costs(r), 0.5):.4f} / {pct(costs(r), 0.9):.4f}"
    )
    add(
        "cost/session p99 / max $",
        lambda r: f"{pct(costs(r), 0.99):.4f} / {max(costs(r), default=0):.4f}",
    )
    add("cost, all sessions $", lambda r: f"{sum(s.cost_usd for s in r.sessions):.2f}")

    def calls(r: RunResult) -> list:  # type: ignore[type-arg]
        return [c for s in r.sessions for c in s.calls]

    def hits(r: RunResult) -> str:
        made = calls(r)
        cached = sum(c.cached for c in made)
        saved = sum(c.saved_usd for c in made)
        return f"{cached:,} ({cached / max(len(made), 1):.0%}) / {saved:.2f}"

    add("cache hits / saved $", hits)
    add("fallbacks (another provider)", lambda r: f"{sum(c.fell_back for c in calls(r)):,}")
    add("  chat; high, standard, batch", fallbacks_by_priority)
    add(
        f"projected $/day at {per_day:,} sessions",
        lambda r: f"{statistics.fmean(costs(r)) * per_day:,.0f}" if costs(r) else "-",
    )

    def provider_tokens(r: RunResult) -> list[float]:
        return [
            sum(c.input_tokens + c.output_tokens for c in s.calls if not c.cached)
            for s in r.sessions
            if s.ok
        ]

    primary = next(t for t in TIERS if t.provider == PRIMARY)
    add(
        f"sessions/day one {PRIMARY} tier-2 model carries",
        lambda r: (
            f"{primary.tpm * 1440 / statistics.fmean(provider_tokens(r)):,.0f}"
            if provider_tokens(r)
            else "-"
        ),
    )
    for r in runs:
        reasons = Counter(s.error.split(":")[0] for s in r.sessions if not s.ok)
        if reasons:
            lines.append(f"{r.name}: failed sessions by reason: {dict(reasons.most_common(5))}")
        lines.extend(f"{r.name}: {note}" for note in r.notes)
        if any(t.timing for s in r.sessions for t in s.tasks):
            lines.append(f"{r.name}: {slow_turn_causes(r)}")
        lines.extend(f"{r.name}: {line}" for line in slowest_turns(r))
    return "\n".join(lines)


def _phases(header: str) -> dict[str, float]:
    """Milliseconds per phase of a ``Server-Timing`` value."""
    out = {}
    for entry in header.split(","):
        name, _, dur = entry.strip().partition(";dur=")
        if dur:
            out[name] = float(dur)
    return out


def slow_turn_causes(r: RunResult) -> str:
    """Of the turns slower than twice the idle p99, how many had each sign of a cause (a
    turn may have several): a failed attempt first, a budget wait, a slow provider, or
    time outside the gateway (the wire, the client, a loop that was late)."""
    limit = 2 * pct(r.idle_ttft, 0.99)
    slow_provider = pct(r.idle_ttft, 0.99) + 0.1  # the idle path's worst, and 100 ms more
    slow = [
        (t.ttft or 0.0, _phases(t.timing))
        for s in r.sessions
        if s.kind == "chat"
        for t in s.tasks
        if t.timing and (t.ttft or 0.0) > limit
    ]
    signs = Counter()
    for ttft, p in slow:
        signs["failed attempt"] += p.get("failed", 0) > 0
        signs["budget > 50 ms"] += p.get("budget", 0) > 50
        signs["cache > 50 ms"] += p.get("cache", 0) > 50
        signs[f"provider > {ms(slow_provider)} ms"] += p.get("provider", 0) > slow_provider * 1000
        signs["outside the gateway > 100 ms"] += ttft * 1000 - p.get("total", 0) > 100
    told = ", ".join(f"{name} {n}" for name, n in signs.items())
    return f"turns over 2x idle p99 ({ms(limit)} ms): {len(slow)}; {told}"


def slowest_turns(r: RunResult, count: int = 8) -> list[str]:
    """The slowest chat turns' first tokens, each with the gateway's ``Server-Timing``
    (where the time went inside it; the rest is the wire, the client and the loop)."""
    turns = [
        t
        for s in r.sessions
        if s.kind == "chat"
        for t in s.tasks
        if t.ttft is not None and t.timing
    ]
    turns.sort(key=lambda t: t.ttft or 0.0, reverse=True)
    return [
        f"slow turn at {t.submitted - r.started:5.1f} s: TTFT {ms(t.ttft or 0.0)} ms, "
        f"headers {ms(t.headers_s or 0.0)} ms; gateway {t.timing}"
        for t in turns[:count]
    ]

"""The scenario's workload: 1,000 concurrent agent sessions of 10 LLM calls each.

Built once from a seed and run unchanged through both architectures, so that every
difference in the table is the architecture's. Three kinds of session, as a team running
agents for its users has them at once:

- ``chat`` (a tenth): a person in a chat window — 10 streamed turns, each sent when the
  previous answer has been read (5-12 s, a time-scaled 20-50 s), on the interactive path;
- ``agent`` (45%): a background agent session — 10 steps, each a turn and a call over the
  session's history, a quarter at ``high`` priority (a user waits for it), the rest at
  ``standard``;
- ``research`` (45%): the design document's research agent — 9 sub-questions answered in
  parallel (efficient tier), then one synthesis (frontier), half at ``standard`` and
  half at ``batch`` (reports nobody waits for).

Cacheable repeats: a research question asked before (the same document classified
twice, the same report re-run), a chat opened with a frequent question, an agent
session started on a frequent case; together about a fifth of the calls, the low end of
the design document's "20-40% hit rates are common".
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from agentqueue.core.base.priority import Priority

CALLS_PER_SESSION = 10
SUB_QUESTIONS = CALLS_PER_SESSION - 1  # and one synthesis
#: Output tokens asked for: a chat answer, an agent step, a sub-answer, a synthesis.
CHAT_MAX_TOKENS = 200
AGENT_MAX_TOKENS = 200
MAP_MAX_TOKENS = 150
REDUCE_MAX_TOKENS = 300

#: System prompts the size real ones are: instructions, policies, the tools described.
AGENT_SYSTEM = (
    "You are an operations agent for a retail company. "
    + " ".join(
        f"Tool {name}: {what}; call it with the identifiers you know and report what it found."
        for name, what in (
            ("orders.lookup", "reads an order, its lines, payments and shipments"),
            ("refunds.create", "refunds a payment in full or in part, with a reason code"),
            ("inventory.count", "counts stock per warehouse and bin, with pending moves"),
            ("tickets.search", "finds support tickets by customer, order or text"),
            ("jobs.status", "reports a batch job's runs, durations, exit codes and logs"),
            ("ledger.diff", "compares two ledgers and lists the rows that differ"),
        )
    )
    + (
        " Read the case so far, decide the next action and explain it in a few sentences. "
        "Be specific: name the system, the order or the customer concerned, and say what you "
        "expect to find. Never refund more than the order's total. Escalate to a person when "
        "a customer's data might have been exposed, when an amount is over 500 euros, or when "
        "two tools disagree about the same record. "
    )
    * 6
)
CHAT_SYSTEM = (
    "You are the support assistant of an online shop. "
    + (
        "Answer in two or three short paragraphs. Quote the policy you apply: returns within "
        "30 days, refunds within 5 working days of receiving the item, delivery changes until "
        "the parcel leaves the warehouse, subscriptions cancelled at the end of the period. "
        "Never promise what the policy does not allow; offer a person when you cannot help. "
    )
    * 5
)

_SUBJECTS = (
    "order export", "refund queue", "warehouse sync", "invoice run", "price feed",
    "search index", "loyalty points", "shipping labels", "fraud screen", "stock counts",
)  # fmt: skip
_ACTIONS = (
    "failed twice overnight", "is running three hours late", "reports duplicate rows",
    "stopped after a deploy", "times out for large tenants", "drifts from the ledger",
)  # fmt: skip
_ASPECTS = (
    "What limits apply", "What does it cost per month", "Which teams depend on it",
    "What failed last quarter", "How is it monitored", "Who can change it",
    "What data does it read", "How long does recovery take", "What would a rewrite take",
    "How does it scale with traffic", "Which vendors are involved", "What is undocumented",
)  # fmt: skip
FAQ_OPENERS = tuple(
    f"How do I {verb} my {thing}?"
    for verb in ("change", "cancel", "track", "return")
    for thing in ("order", "subscription", "delivery address", "payment method", "invoice")
)


@dataclass(frozen=True)
class Session:
    """One session of the scenario: what it sends, at what priority, from when."""

    index: int
    kind: str  # chat | agent | research
    priority: Priority
    #: Seconds after the run's start at which it begins.
    start_at: float
    #: chat and agent: the user turn of each call; research: the overall question.
    turns: tuple[str, ...] = ()
    question: str = ""
    sub_questions: tuple[str, ...] = ()
    #: chat: seconds of reading before each next turn.
    think: tuple[float, ...] = ()
    #: Whether its first call (research: all of them) repeats an earlier session's.
    repeat: bool = False


def _research(rng: random.Random, topic: int) -> tuple[str, tuple[str, ...]]:
    """The question of research topic ``topic`` (the same topic: the same calls)."""
    own = random.Random(topic)
    subject, action = own.choice(_SUBJECTS), own.choice(_ACTIONS)
    question = f"Research brief {topic}: the {subject} {action}. What should we do about it?"
    aspects = own.sample(_ASPECTS, SUB_QUESTIONS)
    return question, tuple(f"{a} for the {subject}?" for a in aspects)


def build(
    sessions: int = 1000,
    *,
    seed: int = 21,
    ramp_seconds: float = 30.0,
    think_seconds: tuple[float, float] = (5.0, 12.0),
    shares: tuple[float, float, float] = (0.1, 0.45, 0.45),
    research_repeat: float = 0.45,
    opener_repeat: float = 0.5,
) -> list[Session]:
    """``sessions`` sessions, ``shares`` of them chat, agent and research, starting
    uniformly over ``ramp_seconds`` (all of them running at once after it)."""
    rng = random.Random(seed)
    kinds = ["chat"] * round(sessions * shares[0]) + ["agent"] * round(sessions * shares[1])
    kinds += ["research"] * (sessions - len(kinds))
    rng.shuffle(kinds)
    out: list[Session] = []
    topics_seen: list[int] = []
    for i, kind in enumerate(kinds):
        start = rng.uniform(0, ramp_seconds)
        if kind == "chat":
            repeat = rng.random() < opener_repeat
            first = rng.choice(FAQ_OPENERS) if repeat else f"Chat {i}: my order {i} is late."
            turns = (
                first,
                *(
                    f"Chat {i}, follow-up {k}: and what about the {rng.choice(_SUBJECTS)}?"
                    for k in range(1, CALLS_PER_SESSION)
                ),
            )
            think = tuple(rng.uniform(*think_seconds) for _ in range(CALLS_PER_SESSION))
            out.append(Session(i, kind, Priority.HIGH, start, turns, think=think, repeat=repeat))
        elif kind == "agent":
            priority = Priority.HIGH if rng.random() < 0.25 else Priority.STANDARD
            repeat = rng.random() < 0.3
            case = rng.randrange(20) if repeat else 1000 + i
            first = f"Case {case}: the {_SUBJECTS[case % 10]} {_ACTIONS[case % 6]}. Start."
            turns = (
                first,
                *(
                    f"Step {k} of session {i}: the last check found {rng.randrange(2, 900)} "
                    f"affected records in the {rng.choice(_SUBJECTS)}. Next?"
                    for k in range(1, CALLS_PER_SESSION)
                ),
            )
            out.append(Session(i, kind, priority, start, turns, repeat=repeat))
        else:
            priority = Priority.STANDARD if rng.random() < 0.5 else Priority.BATCH
            repeat = bool(topics_seen) and rng.random() < research_repeat
            topic = rng.choice(topics_seen) if repeat else 10_000 + i
            topics_seen.append(topic)
            question, subs = _research(rng, topic)
            out.append(
                Session(i, kind, priority, start, question=question, sub_questions=subs,
                        repeat=repeat)
            )  # fmt: skip
    return sorted(out, key=lambda s: s.start_at)

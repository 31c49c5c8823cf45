"""The chaos workload: concurrent clients submitting tasks, then the exactly-once audit.

Clients are asyncio tasks sharing one ``httpx.AsyncClient``. Each submits its share of
tasks one after another; every request carries its own ``Idempotency-Key`` and is
retried with that same key until it gets a 2xx (connection refused or reset, a timeout,
a 5xx or a 429), as a well-behaved client would. A 2xx is an acknowledgement: from then
on the system owns the task.

The audit, once every acknowledged task had ``bound_s`` to finish:

- each acknowledged task is ``succeeded`` or ``failed`` (anything else: *lost*);
- its event stream (``aq:task:{id}:events``) holds exactly one terminal event
  (more: a *duplicate*);
- no task record exists that no client was acknowledged for and that ran (a request
  executed twice);
- the tenant's usage ledger (``GET /v1/usage``) agrees with the records: calls, input
  and output tokens over all of today's models equal the sums of the records' calls.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.chaos.stack import ChaosStack

TERMINAL = ("succeeded", "failed")
PRIORITIES = ("high", "standard", "batch")


@dataclass
class Progress:
    acknowledged: dict[str, str] = field(default_factory=dict)  # idempotency key → task id
    rejected: list[tuple[int, str]] = field(default_factory=list)  # 4xx other than 429
    retries: int = 0
    mismatched: list[tuple[str, str, str]] = field(default_factory=list)  # key, id1, id2
    started: float = field(default_factory=time.monotonic)
    submitted_at: float | None = None

    def event(self, count: int) -> asyncio.Event:
        """Set once ``count`` tasks are acknowledged."""
        ev = asyncio.Event()
        self._waiters.append((count, ev))
        self._check()
        return ev

    _waiters: list[tuple[int, asyncio.Event]] = field(default_factory=list)

    def _check(self) -> None:
        for count, ev in self._waiters:
            if len(self.acknowledged) >= count:
                ev.set()


def task_body(i: int) -> dict[str, Any]:
    return {
        "messages": [{"role": "user", "content": f"chaos task {i}: say something short"}],
        "priority": PRIORITIES[i % len(PRIORITIES)],
        "max_tokens": 24,
        "metadata": {"chaos": str(i)},
    }


async def _client(
    http: httpx.AsyncClient,
    jobs: list[int],
    progress: Progress,
    *,
    think_s: float,
    deadline: float,
) -> None:
    for i in jobs:
        key = f"chaos-{i}-{uuid.uuid4().hex}"
        body = task_body(i)
        while True:
            if time.monotonic() > deadline:
                return  # never acknowledged: not the system's task
            try:
                r = await http.post("/v1/tasks", json=body, headers={"Idempotency-Key": key})
            except httpx.HTTPError:
                r = None
            if r is not None and 200 <= r.status_code < 300:
                task_id = r.json()["id"]
                previous = progress.acknowledged.setdefault(key, task_id)
                if previous != task_id:
                    progress.mismatched.append((key, previous, task_id))
                progress._check()
                break
            if r is not None and 400 <= r.status_code < 500 and r.status_code != 429:
                progress.rejected.append((r.status_code, r.text[:200]))
                break
            progress.retries += 1
            await asyncio.sleep(0.1 + random.random() * 0.2)
        await asyncio.sleep(think_s * (0.5 + random.random()))


async def submit_all(
    stack: ChaosStack,
    *,
    tasks: int = 300,
    clients: int = 64,
    think_s: float = 1.5,
    submit_timeout: float = 120.0,
    chaos: Callable[[Progress], Awaitable[None]] | None = None,
) -> Progress:
    """Run the clients (and ``chaos`` alongside them); return when all are done."""
    progress = Progress()
    shares = [list(range(c, tasks, clients)) for c in range(clients)]
    deadline = time.monotonic() + submit_timeout
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(
        base_url=stack.gateway_url,
        headers={"Authorization": f"Bearer {stack.api_key}"},
        timeout=httpx.Timeout(10.0, connect=2.0),
        limits=limits,
    ) as http:
        runs = [
            asyncio.create_task(_client(http, s, progress, think_s=think_s, deadline=deadline))
            for s in shares
        ]
        chaos_task = asyncio.create_task(chaos(progress)) if chaos else None
        await asyncio.gather(*runs)
        progress.submitted_at = time.monotonic()
        if chaos_task is not None:
            await chaos_task
    return progress


@dataclass
class Audit:
    scenario: str
    acknowledged: int
    unacknowledged: int
    succeeded: int = 0
    failed: int = 0
    lost: int = 0
    duplicates: int = 0
    orphans_ran: int = 0
    seconds: float = 0.0
    retries: int = 0
    states: Counter[str] = field(default_factory=Counter)
    #: Why the failed ones failed (error type: count), and tasks run more than once.
    errors: Counter[str] = field(default_factory=Counter)
    redelivered: int = 0
    usage_records: dict[str, int] = field(default_factory=dict)
    usage_ledger: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"[chaos:{self.scenario}] acknowledged={self.acknowledged} "
            f"succeeded={self.succeeded} failed={self.failed} lost={self.lost} "
            f"duplicates={self.duplicates} seconds={self.seconds:.1f} "
            f"(unacknowledged={self.unacknowledged} client_retries={self.retries} "
            f"orphans_ran={self.orphans_ran} states={dict(self.states)} "
            f"errors={dict(self.errors)} attempts>1={self.redelivered} "
            f"usage records={self.usage_records} ledger={self.usage_ledger})"
        )


def _get_records(
    stack: ChaosStack, ids: list[str], *, bound_s: float, since: float
) -> dict[str, dict[str, Any]]:
    """Poll until every task is terminal or ``bound_s`` seconds after ``since`` passed."""
    views: dict[str, dict[str, Any]] = {}
    pending = set(ids)
    headers = {"Authorization": f"Bearer {stack.api_key}"}
    with httpx.Client(base_url=stack.gateway_url, headers=headers, timeout=10) as http:
        while True:
            for task_id in sorted(pending):
                try:
                    r = http.get(f"/v1/tasks/{task_id}")
                except httpx.HTTPError:
                    continue
                if r.status_code == 200:
                    views[task_id] = r.json()
                    if views[task_id]["status"] in TERMINAL:
                        pending.discard(task_id)
            if not pending or time.monotonic() > since + bound_s:
                return views
            time.sleep(0.5)


def _usage_of_records(views: list[dict[str, Any]]) -> dict[str, int]:
    out = Counter[str]()
    for v in views:
        for c in v.get("calls", []):
            if c.get("cached"):
                continue
            out["calls"] += 1
            out["input_tokens"] += c["usage"]["input_tokens"]
            out["output_tokens"] += c["usage"]["output_tokens"]
    return dict(out)


def _ledger(stack: ChaosStack) -> dict[str, int]:
    headers = {"Authorization": f"Bearer {stack.api_key}"}
    r = httpx.get(f"{stack.gateway_url}/v1/usage?days=2", headers=headers, timeout=10)
    r.raise_for_status()
    out = Counter[str]()
    for day in r.json()["days"]:
        for m in day["models"]:
            for k in ("calls", "input_tokens", "output_tokens"):
                out[k] += m[k]
    return dict(out)


def audit(
    scenario: str,
    stack: ChaosStack,
    progress: Progress,
    *,
    tasks: int,
    bound_s: float,
) -> Audit:
    """Wait up to ``bound_s`` after the last acknowledgement, then check everything.

    The ledger must equal the records even when a worker was SIGKILLed: a task's call is
    written to both in one transaction (``TaskStore.add_call``).
    """
    assert progress.submitted_at is not None
    ids = sorted(set(progress.acknowledged.values()))
    result = Audit(
        scenario,
        acknowledged=len(ids),
        unacknowledged=tasks - len(progress.acknowledged),
        retries=progress.retries,
    )
    views = _get_records(stack, ids, bound_s=bound_s, since=progress.submitted_at)
    result.seconds = time.monotonic() - progress.started
    for task_id in ids:
        view = views.get(task_id, {})
        state = view.get("status", "missing")
        result.states[state] += 1
        if state == "failed":
            error = view.get("error") or {}
            result.errors[f"{error.get('type')}: {str(error.get('message'))[:80]}"] += 1
        if view.get("attempts", 0) > 1:
            result.redelivered += 1
    result.succeeded = result.states["succeeded"]
    result.failed = result.states["failed"]
    result.lost = result.acknowledged - result.succeeded - result.failed

    client = stack.redis_client()
    try:
        for task_id in ids:
            entries = client.xrange(f"aq:task:{task_id}:events")
            terminal = [e for _, e in entries if e.get("type") in ("succeeded", "failed")]
            state = views.get(task_id, {}).get("status")
            if len(terminal) > 1:
                result.duplicates += len(terminal) - 1
                result.problems.append(f"{task_id}: {len(terminal)} terminal events")
            elif state in TERMINAL and len(terminal) != 1:
                result.problems.append(f"{task_id}: {state} but no terminal event")
            elif state in TERMINAL and terminal[0]["type"] != state:
                result.problems.append(f"{task_id}: {state} but event {terminal[0]['type']}")
        # Records nobody was acknowledged for, that ran: a request executed twice.
        known = set(ids)
        for key in client.scan_iter("aq:task:*", count=1000):
            parts = key.split(":")
            if len(parts) != 3 or parts[2] in known:
                continue
            raw = client.get(key)
            record = json.loads(raw) if raw else {}
            if record.get("started_at") or record.get("calls"):
                result.orphans_ran += 1
                result.problems.append(
                    f"unacknowledged record {parts[2]} ran: {record.get('state')}"
                )
    finally:
        client.close()
    result.duplicates += result.orphans_ran + len(progress.mismatched)
    for key, a, b in progress.mismatched:
        result.problems.append(f"Idempotency-Key {key} answered with {a} and {b}")
    for code, text in progress.rejected:
        result.problems.append(f"request rejected {code}: {text}")

    result.usage_records = _usage_of_records([views[i] for i in ids if i in views])
    result.usage_ledger = _ledger(stack)
    if result.usage_records != result.usage_ledger:
        result.problems.append(
            f"usage ledger {result.usage_ledger} != records {result.usage_records}"
        )
    for task_id in ids:
        v = views.get(task_id)
        if v and v["status"] == "succeeded" and not v["calls"]:
            result.problems.append(f"{task_id}: succeeded without a recorded call")
    print(result.line())
    return result


def check(result: Audit, *, min_acknowledged: int) -> None:
    """The contract; the message names what broke."""
    shown = "\n  ".join(result.problems[:20])
    assert result.acknowledged >= min_acknowledged, result.line()
    assert result.lost == 0, f"{result.line()}\n  {shown}"
    assert result.duplicates == 0, f"{result.line()}\n  {shown}"
    assert not result.problems, f"{result.line()}\n  {shown}"

"""The batch APIs' shared half: jobs in memory, their clock, their limit and their answers.

OpenAI (``/v1/files`` + ``/v1/batches``), Anthropic (``/v1/messages/batches``) and Gemini
(``:batchGenerateContent``) take many requests at once and answer them later. Their
routers (``protocols/*_batches.py``) parse a batch into :class:`BatchItem` s and render
a :class:`BatchJob` in their provider's words; this module keeps the jobs and decides
what happens to them, the same way for all three:

* a job ends ``delay_seconds`` after its creation (not scaled by ``speed``), and is
  settled lazily, when something reads it after that: no background task;
* each request is then answered by the online engine's own functions
  (:func:`offline_admission`: the same answer, usage and token counts) — without the
  online rate limits and without counting in the online buckets or ``/_sim/stats``'
  ``providers``; ``error_rate`` (as it was at creation) of them fail, each on its own;
* a provider lets one API key hold ``enqueued_tokens`` input tokens in unfinished
  batches: a create beyond that is refused (:meth:`BatchStore.admit`);
* a cancelled job ends at once with its requests canceled; a job marked to expire
  (``expire_next``, or ``POST /_sim/batches/{id}/expire``) ends with them expired.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from agentqueue.simulator.behaviour import ConfigError
from agentqueue.simulator.engine import (
    CONTEXT_WINDOW,
    Admission,
    LimitView,
    Refusal,
    Simulator,
    input_estimate,
)
from agentqueue.simulator.settings import SimulatorSettings
from agentqueue.simulator.tool_turns import Extras, answer

#: A batch's job status, the same words for every provider (each renders its own).
IN_PROGRESS, COMPLETED, FAILED, CANCELLED, EXPIRED = (
    "in_progress",
    "completed",
    "failed",
    "cancelled",
    "expired",
)


@dataclass
class BatchConfig:
    """The batch behaviour now; settings at start, ``PATCH /_sim/config {"batches": …}``."""

    delay_seconds: float
    error_rate: float
    enqueued_tokens: int
    #: The next this many batches created expire (end with every request expired).
    expire_next: int = 0

    @classmethod
    def from_settings(cls, s: SimulatorSettings) -> BatchConfig:
        return cls(s.batch_delay_seconds, s.batch_error_rate, s.batch_enqueued_tokens)

    def patch(self, changes: Any) -> None:
        """Apply ``{field: value}``; validate everything first."""
        self.validate(changes)
        for name, value in changes.items():
            setattr(self, name, value if name in ("delay_seconds", "error_rate") else int(value))

    @staticmethod
    def validate(changes: Any) -> None:
        if not isinstance(changes, dict):
            raise ConfigError("batches: expected an object of fields")
        known = {"delay_seconds", "error_rate", "enqueued_tokens", "expire_next"}
        unknown = set(changes) - known
        if unknown:
            raise ConfigError(f"batches: unknown field(s) {sorted(unknown)}")
        for name, value in changes.items():
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"batches: {name} must be a non-negative number")
            if name == "error_rate" and value > 1:
                raise ConfigError("batches: error_rate must be between 0 and 1")
            if name == "enqueued_tokens" and value < 1:
                raise ConfigError("batches: enqueued_tokens must be at least 1")


@dataclass(frozen=True)
class BatchItem:
    """One request of a batch, as its provider's online route would take it."""

    custom_id: str
    model: str
    body: dict[str, Any]
    #: Its prompt's tokens, as the provider counts them: what it holds of the enqueued cap.
    input_tokens: int


@dataclass(frozen=True)
class Outcome:
    """What became of one request: ``succeeded`` (``body``: the provider's answer),
    ``errored`` (``error``), ``canceled`` or ``expired``."""

    custom_id: str
    kind: str
    body: dict[str, Any] | None = None
    error: Refusal | None = None
    input_tokens: int = 0
    output_tokens: int = 0


#: A request as a provider's online router parses it: model, system, turns, max_tokens
#: and extras.
Parsed = tuple[str, str | None, list[str], int, Extras]
#: A request's answer in its provider's words, with its input and output tokens.
Answer = tuple[dict[str, Any], int, int]
#: Answers one request (with the batch's API key) the provider's way, or says why not.
Answerer = Callable[[BatchItem, str], "Answer | Refusal"]


@dataclass
class BatchJob:
    id: str
    provider: str
    key: str
    deployment: str | None
    items: list[BatchItem]
    answerer: Answerer
    created: float
    due: float
    expire: bool = False
    #: The fraction of requests to fail, as configured when the job was created.
    error_rate: float = 0.0
    cancelled_at: float | None = None
    #: Why the batch failed as a whole (validation, the enqueued cap), OpenAI's way.
    errors: list[dict[str, Any]] = field(default_factory=list)
    #: The provider's own fields: endpoint, input file, metadata, display name…
    extra: dict[str, Any] = field(default_factory=dict)
    outcomes: list[Outcome] | None = None
    deleted: bool = False

    def status(self, now: float | None = None) -> str:
        now = time.time() if now is None else now
        if self.errors:
            return FAILED
        if self.cancelled_at is not None:
            return CANCELLED
        if now < self.due:
            return IN_PROGRESS
        return EXPIRED if self.expire else COMPLETED

    def ended_at(self, now: float | None = None) -> float | None:
        status = self.status(now)
        if status == IN_PROGRESS:
            return None
        if status == FAILED:
            return self.created
        return self.cancelled_at if status == CANCELLED else self.due

    def counts(self) -> dict[str, int]:
        """Requests by outcome (all ``processing`` until the job ends and is settled)."""
        out = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        if self.outcomes is None:
            out["processing"] = len(self.items)
        else:
            for o in self.outcomes:
                out[o.kind] += 1
        return out


@dataclass
class StoredFile:
    """An OpenAI file: an uploaded batch input, or a batch's output or error file."""

    id: str
    filename: str
    purpose: str
    content: bytes
    created_at: int


def new_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:24]}"


def auth_refusal(key: str | None) -> Refusal | None:
    """The online routes' key check (``Simulator.admit``): none or ``bad…`` is refused."""
    if not key or key.startswith("bad"):
        return Refusal(401, "auth", "invalid x-api-key" if key else "missing API key")
    return None


def offline_admission(
    sim: Simulator,
    provider: str,
    key: str,
    parsed: Parsed,
) -> Admission | Refusal:
    """A batch request's answer, as :meth:`Simulator.admit` makes an online one, with no
    rate limit, fault dice or bucket: ``parsed`` is model, system, turns, max_tokens and
    extras as the provider's online router parses them."""
    model, system, turns, max_tokens, extras = parsed
    input_tokens = input_estimate(system, turns, extras, sim.counter(provider, model))
    if input_tokens > CONTEXT_WINDOW:
        return Refusal(
            400,
            "too_long",
            f"prompt is too long: {input_tokens} tokens > {CONTEXT_WINDOW} maximum",
        )
    reply = answer(model, system, turns, max_tokens, extras)
    return Admission(
        provider,
        model,
        key,
        input_tokens,
        max_tokens,
        reply.pieces,
        sim.behaviours[provider],
        LimitView(0, 0, 0.0, 0, 0, 0.0),
        time.time(),
        False,
        reply.tool_calls,
        reply.stop_sequence,
    )


class BatchStore:
    """Every provider's batch jobs (and OpenAI's files), in this process's memory."""

    def __init__(self, settings: SimulatorSettings) -> None:
        self._settings = settings
        self.reset()

    def reset(self) -> None:
        self.config = BatchConfig.from_settings(self._settings)
        self.jobs: dict[str, BatchJob] = {}
        self.files: dict[str, StoredFile] = {}
        self._refused: dict[str, int] = {}
        self._rng = random.Random(self._settings.seed)

    def enqueued(self, provider: str, key: str, deployment: str | None) -> int:
        """Input tokens ``key`` holds in ``provider``'s unfinished batches."""
        now = time.time()
        return sum(
            item.input_tokens
            for job in self.jobs.values()
            if (job.provider, job.key, job.deployment) == (provider, key, deployment)
            and job.status(now) == IN_PROGRESS
            for item in job.items
        )

    def admit(
        self, provider: str, key: str, deployment: str | None, items: list[BatchItem]
    ) -> Refusal | None:
        """None if the batch fits under the enqueued-tokens cap, else the refusal (counted)."""
        held = self.enqueued(provider, key, deployment)
        wanted = sum(item.input_tokens for item in items)
        cap = self.config.enqueued_tokens
        if held + wanted <= cap:
            return None
        self._refused[provider] = self._refused.get(provider, 0) + 1
        return Refusal(
            429,
            "rate_limit",
            f"Enqueued token limit reached: {held} tokens enqueued and {wanted} more "
            f"requested; limit {cap} enqueued tokens. Submit fewer requests or try again "
            "once some of your in-progress batches have finished.",
        )

    def create(
        self,
        id: str,
        provider: str,
        key: str,
        deployment: str | None,
        items: list[BatchItem],
        answerer: Answerer,
        *,
        errors: list[dict[str, Any]] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> BatchJob:
        now = time.time()
        expire = not errors and self.config.expire_next > 0
        if expire:
            self.config.expire_next -= 1
        job = BatchJob(
            id,
            provider,
            key,
            deployment,
            items,
            answerer,
            created=now,
            due=now + self.config.delay_seconds,
            expire=expire,
            error_rate=self.config.error_rate,
            errors=list(errors or []),
            extra=dict(extra or {}),
        )
        self.jobs[id] = job
        return job

    def get(self, id: str, provider: str) -> BatchJob | None:
        job = self.jobs.get(id)
        if job is None or job.provider != provider or job.deleted:
            return None
        self.settle(job)
        return job

    def listed(self, provider: str) -> list[BatchJob]:
        """``provider``'s jobs, newest first, settled."""
        jobs = [j for j in self.jobs.values() if j.provider == provider and not j.deleted]
        for job in jobs:
            self.settle(job)
        return sorted(jobs, key=lambda j: j.created, reverse=True)

    def cancel(self, job: BatchJob) -> None:
        """End an unfinished job now, its requests canceled (a finished one stays)."""
        if job.status() == IN_PROGRESS:
            job.cancelled_at = time.time()
            self.settle(job)

    def expire(self, job: BatchJob) -> None:
        """End an unfinished job now, its requests expired (the admin API's doing)."""
        if job.status() == IN_PROGRESS:
            job.expire = True
            job.due = time.time()
            self.settle(job)

    def settle(self, job: BatchJob) -> None:
        """Decide every request's outcome, once, when the job has ended."""
        status = job.status()
        if job.outcomes is not None or status in (IN_PROGRESS, FAILED):
            return
        outcomes = []
        for item in job.items:
            if status != COMPLETED:
                kind = "canceled" if status == CANCELLED else "expired"
                outcomes.append(Outcome(item.custom_id, kind))
            elif self._rng.random() < job.error_rate:
                refusal = Refusal(500, "server_error", "internal server error (simulated)")
                outcomes.append(Outcome(item.custom_id, "errored", error=refusal))
            else:
                result = job.answerer(item, job.key)
                if isinstance(result, Refusal):
                    outcomes.append(Outcome(item.custom_id, "errored", error=result))
                else:
                    body, used_in, used_out = result
                    outcomes.append(
                        Outcome(item.custom_id, "succeeded", body, None, used_in, used_out)
                    )
        job.outcomes = outcomes

    def stats(self) -> dict[str, dict[str, int]]:
        """Per provider: batches by status, requests by outcome, tokens answered."""
        out: dict[str, dict[str, int]] = {}
        now = time.time()
        for job in self.jobs.values():
            self.settle(job)
            c = out.setdefault(job.provider, _empty_stats())
            c["created"] += 1
            c[job.status(now)] += 1
            c["requests"] += len(job.items)
            for kind, n in job.counts().items():
                c[f"requests_{kind}"] += n
            for o in job.outcomes or []:
                c["input_tokens"] += o.input_tokens
                c["output_tokens"] += o.output_tokens
        for provider, refused in self._refused.items():
            out.setdefault(provider, _empty_stats())["refused"] = refused
        return out

    def as_dict(self) -> dict[str, Any]:
        """The config and every job's state, for ``GET /_sim/batches``."""
        now = time.time()
        jobs = [
            {
                "id": j.id,
                "provider": j.provider,
                "deployment": j.deployment,
                "status": j.status(now),
                "requests": len(j.items),
                "counts": j.counts(),
                "created": j.created,
                "due": j.due,
            }
            for j in self.listed_all()
        ]
        return {"config": asdict(self.config), "jobs": jobs}

    def listed_all(self) -> list[BatchJob]:
        for job in self.jobs.values():
            self.settle(job)
        return list(self.jobs.values())


def _empty_stats() -> dict[str, int]:
    names = (
        *("created", "refused", "in_progress", "completed", "failed", "cancelled", "expired"),
        *("requests", "requests_processing", "requests_succeeded", "requests_errored"),
        *("requests_canceled", "requests_expired", "input_tokens", "output_tokens"),
    )
    return dict.fromkeys(names, 0)

"""Delivering a finished task to its webhook URL: one attempt at a time, each recorded.

A delivery is a message on the task's own queue; each run of it makes one attempt and
says when to make the next, so the schedule survives worker restarts (Dramatiq keeps the
delayed message in Redis) and every attempt — time, duration, status code or error —
lands on the task record, where the client sees it.

Rules, after the Standard Webhooks / Svix conventions:

- a 2xx answer is delivered; a 4xx other than 408 and 429 means the receiver refuses
  this message for good (retrying sends the same body) and the delivery is given up;
- anything else (5xx, 408, 429, timeout, connection error, DNS failure) is retried with
  exponential backoff and jitter, never sooner than the receiver's ``retry-after``, up to
  ``max_attempts`` attempts in all;
- the URL is checked again before every attempt (DNS may have changed since submission)
  and the request goes to the address that passed, with the name kept for ``Host`` and
  TLS (SNI and certificate check). Redirects are not followed (they could lead inside)
  and no proxy from the environment is used (it would connect to the name instead);
- the receiver's body is never read: a slow or endless answer cannot hold a worker.

Delivery is at least once: a worker killed after the receiver answered but before the
attempt was recorded sends again, with the same ``webhook-id``.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import random
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx

from agentqueue.core.tasks.model import TaskRecord, WebhookAttempt, WebhookState
from agentqueue.core.tasks.store import TaskStore
from agentqueue.core.tasks.urlguard import IPAddress, UnsafeURL, check_url
from agentqueue.core.tasks.view import TaskView
from agentqueue.core.tasks.webhooks import webhook_headers

log = logging.getLogger(__name__)

USER_AGENT = "agentqueue-webhooks/1"


@dataclass(frozen=True)
class DeliveryPolicy:
    """How hard to try; see the worker settings for each value's meaning."""

    max_attempts: int = 8
    timeout: float = 10.0
    backoff: float = 10.0
    backoff_max: float = 3600.0
    allow_private: bool = False
    allow_http: bool = False


@dataclass(frozen=True)
class _Outcome:
    attempt: WebhookAttempt
    delivered: bool = False
    retryable: bool = True
    retry_after: float | None = None


def message_id(record: TaskRecord) -> str:
    """The ``webhook-id``: one per task outcome, the same on every attempt."""
    return f"{record.id}_{record.state.value}"


def webhook_body(record: TaskRecord) -> bytes:
    """The task view, without the delivery log (so every attempt sends the same body)."""
    return TaskView.of(record).model_dump_json(exclude={"webhook"}).encode()


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(0.0, float(response.headers.get("retry-after", "")))
    except ValueError:
        return None  # an HTTP date, or absent: our own backoff decides


def _at_address(url: str, ip: IPAddress) -> tuple[str, str]:
    """``url`` with its host replaced by ``ip``, and the original ``Host`` header value."""
    parts = urlsplit(url)
    host = f"[{ip}]" if isinstance(ip, ipaddress.IPv6Address) else str(ip)
    netloc = f"{host}:{parts.port}" if parts.port else host
    host_header = parts.netloc.rpartition("@")[2]  # never forward credentials as Host
    return urlunsplit(parts._replace(netloc=netloc)), host_header


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The TLS settings every attempt uses (certifi's CAs, as httpx's default), built once.

    Why: building it parses the whole CA bundle — 30-130 ms of CPU — and an
    ``httpx.AsyncClient`` left to itself builds one per client, even for an ``http://``
    URL. A client per attempt is kept (no connection is ever reused for another
    receiver's name), but not a context per attempt: that was over half of a busy
    worker's CPU.
    """
    return httpx.create_ssl_context(trust_env=False)


class WebhookSender:
    """Makes delivery attempts for tasks in a :class:`TaskStore`."""

    def __init__(self, store: TaskStore, secret: str | None, policy: DeliveryPolicy) -> None:
        self.store = store
        self.secret = secret
        self.policy = policy
        self.tls = tls_context()  # at the worker's start, not on its first delivery

    def delay(self, attempts_made: int, retry_after: float | None = None) -> float:
        """Seconds before the next attempt, after ``attempts_made`` failed ones."""
        ceiling = min(self.policy.backoff_max, self.policy.backoff * 2 ** (attempts_made - 1))
        delay = random.uniform(ceiling / 2, ceiling)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.policy.backoff_max))
        return delay

    async def deliver(self, task_id: str) -> float | None:
        """Make the next attempt; return seconds until the one after, or None when done."""
        record = await self.store.get(task_id)
        if record.webhook is None or record.spec.webhook_url is None:
            return None
        if record.webhook.state is not WebhookState.PENDING or not record.state.terminal:
            return None  # already settled (a duplicate message), or nothing to say yet
        made = len(record.webhook.attempts)
        if made >= self.policy.max_attempts:  # redelivered after the last attempt's crash
            await self.store.add_webhook_attempt(task_id, None, WebhookState.FAILED)
            return None
        # one attempt at a time per task: two delivery messages (the cancel's and the run's,
        # say) taken by two threads would otherwise both post. The loser drops its message;
        # the holder's is acked only once its attempt is recorded (a crash redelivers it),
        # and the claim outlives no attempt (its timeout, with room to record it).
        claim = f"aq:webhook-sending:{task_id}"
        hold_ms = int((self.policy.timeout + 30) * 1000)
        if not await self.store.redis.set(claim, "1", nx=True, px=hold_ms):
            return None
        try:
            record = await self.store.get(task_id)  # as of the claim: settled meanwhile?
            url = record.spec.webhook_url
            if (
                record.webhook is None
                or record.webhook.state is not WebhookState.PENDING
                or not url
            ):
                await self.store.redis.delete(claim)
                return None
            made = len(record.webhook.attempts)
            outcome = await self._attempt(record, url)
        except BaseException:
            await self.store.redis.delete(claim)
            raise
        made += 1
        if outcome.delivered:
            state = WebhookState.DELIVERED
        elif not outcome.retryable or made >= self.policy.max_attempts:
            state = WebhookState.FAILED
        else:
            state = WebhookState.PENDING
        await self.store.add_webhook_attempt(task_id, outcome.attempt, state)
        await self.store.redis.delete(claim)
        a = outcome.attempt
        log.info(
            "task %s webhook attempt %d: %s -> %s",
            task_id,
            made,
            a.status_code or a.error,
            state.value,
        )
        return self.delay(made, outcome.retry_after) if state is WebhookState.PENDING else None

    async def _attempt(self, record: TaskRecord, url: str) -> _Outcome:
        started, clock = time.time(), time.monotonic()

        def failed(error: str, *, retryable: bool = True) -> _Outcome:
            attempt = WebhookAttempt(
                at=started, duration_s=round(time.monotonic() - clock, 4), error=error
            )
            return _Outcome(attempt, retryable=retryable)

        if self.secret is None:
            return failed(
                "no signing secret: set AGENTQUEUE_WEBHOOK_SECRET on the workers "
                "(webhooks are never sent unsigned)",
                retryable=False,
            )
        try:
            addresses = await check_url(
                url, allow_private=self.policy.allow_private, allow_http=self.policy.allow_http
            )
        except UnsafeURL as exc:
            return failed(f"refused: {exc}", retryable=exc.retryable)
        target, host = _at_address(url, addresses[0])
        body = webhook_body(record)
        headers = webhook_headers(self.secret, message_id(record), body)
        headers |= {"host": host, "user-agent": USER_AGENT}
        extensions = {"sni_hostname": urlsplit(url).hostname or ""}
        try:
            async with (
                httpx.AsyncClient(
                    timeout=self.policy.timeout,
                    follow_redirects=False,
                    trust_env=False,
                    verify=self.tls,
                ) as client,
                client.stream(
                    "POST", target, content=body, headers=headers, extensions=extensions
                ) as response,
            ):
                status = response.status_code
                retry_after = _retry_after(response)
        except httpx.TimeoutException:
            return failed(f"timed out after {self.policy.timeout:g}s")
        except httpx.HTTPError as exc:
            return failed(f"{type(exc).__name__}: {exc}")
        attempt = WebhookAttempt(
            at=started, duration_s=round(time.monotonic() - clock, 4), status_code=status
        )
        if 200 <= status < 300:
            return _Outcome(attempt, delivered=True)
        refused = 400 <= status < 500 and status not in (408, 429)
        return _Outcome(attempt, retryable=not refused, retry_after=retry_after)

"""The console in a real browser, against a running stack: Playwright (Python) driving
Debian's ``chromium`` (``.ci/run`` installs both; Playwright cannot download its own
browser here, so it is pointed at the system one).

The stack is the cheapest that runs a real workload: the session's private
``redis-server``, the provider simulator (in-process, slowed so that work piles up), the
gateway under uvicorn (in a thread) and one worker process on the ``standard`` queue.

One test walks what an operator does, in order, saving a screenshot of every page to
``$AGENTQUEUE_ARTIFACTS`` (default ``tests/artifacts/console/``, ignored by git) and
printing their paths: ``/docs`` with every request off 127.0.0.1 aborted, login with the
admin key, the overview while tasks run (queue depth up, then spend up), the task list
and one task's timeline and calls, spend charts, a key created and revoked, a task that
failed for good dead-lettered and requeued from the console until it succeeds; then a
tenant's login, which lists its own tasks only and gets 403 on the keys page.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
from pydantic import SecretStr

from agentqueue.cli.processes import ProcessGroup, wait_workers
from agentqueue.cli.stack import simulator_budgets
from agentqueue.gateway.app import create_app
from agentqueue.gateway.settings import GatewaySettings
from tests.servers import serving

playwright = pytest.importorskip("playwright.sync_api", reason="pip install playwright")

pytestmark = pytest.mark.slow

CHROMIUM = os.environ.get("AGENTQUEUE_CHROMIUM", "/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[2]
ADMIN_KEY = "console-admin-key-0123456789"
KEY_T1 = "console-tenant-one-0123456789"
KEY_T2 = "console-tenant-two-0123456789"
TASKS = 16


@pytest.fixture(scope="module")
def artifacts() -> Path:
    path = Path(os.environ.get("AGENTQUEUE_ARTIFACTS") or REPO / "tests" / "artifacts")
    path = path / "console"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


@dataclass(frozen=True)
class Stack:
    url: str  # the gateway
    simulator: Any  # its SimulatorHandle


@pytest.fixture
def stack(redis_url: str, simulator: Any, tmp_path: Path) -> Iterator[Stack]:
    """The gateway, with one worker on ``standard`` behind it; every call to the simulator
    takes about a second."""
    if not Path(CHROMIUM).exists():
        reason = f"no chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}: CI must run the browser tests")
        pytest.skip(reason)
    simulator.configure({"all": {"speed": 1.0, "ttft_ms": 1000.0, "ms_per_token": 2.0}})
    budgets = simulator_budgets(simulator.url)
    settings = GatewaySettings(
        redis_url=SecretStr(redis_url),
        api_keys=SecretStr(f"t1:{KEY_T1},t2:{KEY_T2}"),
        admin_key=SecretStr(ADMIN_KEY),
        simulator_url=simulator.url,
        budgets=json.loads(budgets),
        cache_enabled=False,
    )
    group = ProcessGroup(log_dir=tmp_path)
    try:
        group.start_service(
            "worker",
            "agentqueue.worker",
            {
                "AGENTQUEUE_REDIS_URL": redis_url,
                "AGENTQUEUE_SIMULATOR_URL": simulator.url,
                "AGENTQUEUE_BUDGETS": budgets,
                "AGENTQUEUE_QUEUE": "standard",
                "AGENTQUEUE_THREADS": "2",
                "AGENTQUEUE_MAX_RETRIES": "0",  # a task whose call fails is dead at once
                "AGENTQUEUE_BREAKER_COOLDOWN": "1",
                "AGENTQUEUE_CACHE_ENABLED": "false",
                "AGENTQUEUE_METRICS_PORT": "0",
            },
        )
        wait_workers(redis_url, 1, group, timeout=60)
        with serving(create_app(settings), name="gateway") as url:
            yield Stack(url, simulator)
    finally:
        group.stop(timeout=10)


def _submit(url: str, key: str, n: int = 1) -> list[str]:
    ids = []
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}) as client:
        for i in range(n):
            body = {"messages": [{"role": "user", "content": f"Say hi #{i}"}], "max_tokens": 20}
            answer = client.post("/v1/tasks", json=body)
            assert answer.status_code == 202, answer.text
            ids.append(answer.json()["id"])
    return ids


def _status(url: str, key: str, task_id: str) -> str:
    answer = httpx.get(f"{url}/v1/tasks/{task_id}", headers={"Authorization": f"Bearer {key}"})
    status: str = answer.raise_for_status().json()["status"]
    return status


def _until(what: str, check: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def _money(text: str) -> float:
    return float(text.strip().lstrip("$").replace(",", ""))


def test_an_operator_walks_the_console(
    stack: Stack, artifacts: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = stack.url
    shots: list[Path] = []
    api = playwright

    def shot(page: Any, name: str) -> None:
        path = artifacts / f"{len(shots) + 1:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        shots.append(path)

    with api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            # No network: anything not served by our gateway on 127.0.0.1 is aborted.
            refused: list[str] = []

            def only_local(route: Any) -> None:
                if urlparse(route.request.url).hostname == "127.0.0.1":
                    route.continue_()
                else:
                    refused.append(route.request.url)
                    route.abort()

            context.route("**/*", only_local)
            page = context.new_page()

            # /docs renders offline: Swagger UI's operations list is there.
            page.goto(f"{url}/docs")
            page.locator(".opblock").first.wait_for(timeout=20_000)
            assert page.locator(".opblock").count() > 10
            assert "/v1/tasks" in page.content()
            shot(page, "docs-offline")

            # Log in with the admin key.
            page.goto(f"{url}/console")
            assert page.url.endswith("/console/login")
            shot(page, "login")
            page.fill("input[name=key]", ADMIN_KEY)
            page.click("button[type=submit]")
            page.wait_for_url("**/console/overview")
            assert page.locator("#who").inner_text() == "admin"
            assert page.locator("#budgets tbody tr").count() > 0  # budgets with headroom
            spend_before = _money(page.locator("#spend-total").inner_text())

            # A workload: the queue fills, then drains while spend grows.
            ids = _submit(url, KEY_T1, TASKS)
            (other,) = _submit(url, KEY_T2)
            depth = page.locator('#queues tr[data-queue="standard"] .depth')
            _until("the standard queue's depth to show work", lambda: int(depth.inner_text()) > 0)
            shot(page, "overview-busy")
            _until(
                "spend to move on the overview",
                lambda: _money(page.locator("#spend-total").inner_text()) > spend_before,
            )
            _until(
                "every task to finish",
                lambda: all(_status(url, KEY_T1, i) == "succeeded" for i in ids),
                timeout=120,
            )
            _until("the queue to drain on the overview", lambda: depth.inner_text() == "0")
            shot(page, "overview-drained")

            # Tasks, then one task's timeline and its LLM calls.
            page.click("nav >> text=Tasks")
            page.wait_for_url("**/console/tasks")
            assert page.locator("#tasks tbody tr").count() >= TASKS + 1
            shot(page, "tasks")
            page.click(f"a[href='/console/tasks/{ids[0]}']")
            page.wait_for_url(f"**/console/tasks/{ids[0]}")
            timeline = page.locator("#timeline").inner_text()
            for event in ("queued", "started", "llm_call", "succeeded"):
                assert event in timeline, timeline
            calls = page.locator("#calls tbody tr")
            assert calls.count() >= 1 and "$" in calls.first.inner_text()
            shot(page, "task-timeline")

            # Spend charts.
            page.click("nav >> text=Spend")
            page.wait_for_url("**/console/spend")
            assert page.locator("svg.chart").count() >= 3
            assert _money(page.locator("#spend-period").inner_text()) > 0
            shot(page, "spend")

            # Create a key (shown once), then revoke it.
            page.click("nav >> text=Keys")
            page.wait_for_url("**/console/keys")
            page.fill("form.create input[name=tenant]", "acme")
            page.fill("form.create input[name=name]", "from the browser")
            page.click("form.create button[type=submit]")
            new_key = page.locator("#new-key").inner_text().strip()
            assert new_key.startswith("aq_")
            shot(page, "key-created")
            row = page.locator("#keys tbody tr", has_text="from the browser")
            row.locator("button", has_text="Revoke").click()
            page.wait_for_url("**/console/keys")
            row = page.locator("#keys tbody tr", has_text="from the browser")
            assert row.locator(".revoked").inner_text().strip() != ""
            assert new_key not in page.content()
            shot(page, "key-revoked")
            _until(
                "the revoked key to be refused",
                lambda: (
                    httpx.get(
                        f"{url}/v1/usage", headers={"Authorization": f"Bearer {new_key}"}
                    ).status_code
                    == 401
                ),
                timeout=10,
            )

            # A task that fails for good (every provider down, no retry) is dead-lettered;
            # requeued from the console once the providers are back, it succeeds.
            stack.simulator.configure({"all": {"outage": True}})
            (dead,) = _submit(url, KEY_T1)
            _until("the task to fail", lambda: _status(url, KEY_T1, dead) == "failed")
            stack.simulator.configure({"all": {"outage": False}})
            time.sleep(1.5)  # the worker's breakers' cooldown
            page.click("nav >> text=Dead letters")
            page.wait_for_url("**/console/dead-letters")
            letter = page.locator(f'#dead-letters tr[data-task-id="{dead}"]')
            _until_page(page, letter)
            assert "NoProviderAvailable" in letter.inner_text(), letter.inner_text()
            shot(page, "dead-letters")
            letter.locator("button", has_text="Requeue").click()
            page.wait_for_url("**/console/dead-letters")
            assert page.locator(f'#dead-letters tr[data-task-id="{dead}"]').count() == 0
            _until("the requeue to succeed", lambda: _status(url, KEY_T1, dead) == "succeeded")
            page.goto(f"{url}/console/tasks/{dead}")
            assert page.locator("#task-state").inner_text() == "succeeded"
            events = page.locator("#timeline li strong").all_inner_texts()
            # the first run's failure, then the requeued run to its success
            assert "failed" in events and events[-1] == "succeeded", events
            assert events.count("started") == 2, events
            shot(page, "requeued-task")

            page.click("header button:has-text('Log out')")
            page.wait_for_url("**/console/login")

            # A tenant's key: its own tasks only, no keys page.
            page.fill("input[name=key]", KEY_T2)
            page.click("button[type=submit]")
            page.wait_for_url("**/console/overview")
            assert page.locator("#who").inner_text() == "tenant t2"
            assert page.locator("nav >> text=Keys").count() == 0
            shot(page, "tenant-overview")
            page.goto(f"{url}/console/tasks")
            listed = page.locator("#tasks").inner_text()
            assert other in listed and ids[0] not in listed
            shot(page, "tenant-tasks")
            answer = page.goto(f"{url}/console/keys")
            assert answer is not None and answer.status == 403
            shot(page, "tenant-keys-403")
            assert not refused, f"pages asked for other origins: {refused}"
        finally:
            browser.close()
    with capsys.disabled():  # in CI's log, not only with -s
        print("\nconsole screenshots:", *map(str, shots), sep="\n  ", file=sys.stderr)
    assert all(p.stat().st_size > 5_000 for p in shots)


def _until_page(page: Any, locator: Any, timeout: float = 20.0) -> None:
    """Reload ``page`` until ``locator`` shows (the page itself does not poll)."""
    deadline = time.monotonic() + timeout
    while locator.count() == 0:
        if time.monotonic() > deadline:
            raise AssertionError(f"{locator} never showed")
        time.sleep(0.5)
        page.reload()

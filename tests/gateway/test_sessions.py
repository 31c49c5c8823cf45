"""``/v1/sessions`` in-process with a real Redis: create, turns, steps queued as tasks,
one step at a time, tenant scoping; and the task API's agent parameters."""

from __future__ import annotations

import httpx
import redis.asyncio as aioredis

from agentqueue.core.tasks.store import TaskStore
from tests.gateway.conftest import KEY_T2

PAIR = [
    {"role": "tool_call", "call_id": "c1", "tool": "search", "content": '{"q": "limits"}'},
    {"role": "tool_result", "call_id": "c1", "tool": "search", "content": "RPM 4000"},
]


async def _queued(redis_url: str) -> int:
    client = aioredis.Redis.from_url(redis_url)
    try:
        return int(await client.hlen("dramatiq:standard.msgs"))
    finally:
        await client.aclose()


async def test_create_add_turns_and_read_back(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/v1/sessions",
        json={
            "system": "be brief",
            "tier": "auto",
            "max_cost_usd": 2.5,
            "turns": [{"role": "user", "content": "brief", "pinned": True}],
        },
    )
    assert r.status_code == 201, r.text
    session = r.json()
    assert session["id"].startswith("sess_") and session["items"] == 1
    assert session["tier"] == "auto" and session["max_cost_usd"] == 2.5

    r = await client.post(
        f"/v1/sessions/{session['id']}/turns",
        json={"turns": [{"role": "user", "content": "what limits apply?"}, *PAIR]},
    )
    assert r.status_code == 200, r.text
    assert [i["seq"] for i in r.json()] == [1, 2, 3]
    transcript = (await client.get(f"/v1/sessions/{session['id']}/transcript")).json()
    context = (await client.get(f"/v1/sessions/{session['id']}/context")).json()
    assert transcript == context and [i["kind"] for i in context] == [
        "user",
        "user",
        "tool_call",
        "tool_result",
    ]
    view = (await client.get(f"/v1/sessions/{session['id']}")).json()
    assert view["items"] == 4 and view["compactions"] == [] and view["pending_step"] is None


async def test_a_tool_call_without_its_result_is_refused(client: httpx.AsyncClient) -> None:
    sid = (await client.post("/v1/sessions", json={})).json()["id"]
    r = await client.post(f"/v1/sessions/{sid}/turns", json={"turns": PAIR[:1]})
    assert r.status_code == 422 and "tool_result" in r.json()["error"]["message"]
    r = await client.post("/v1/sessions", json={"turns": PAIR[1:]})
    assert r.status_code == 422
    assert (await client.get(f"/v1/sessions/{sid}/transcript")).json() == []


async def test_a_step_is_queued_as_a_task_and_holds_the_session(
    client: httpx.AsyncClient, redis_url: str, aredis: aioredis.Redis
) -> None:
    sid = (
        await client.post("/v1/sessions", json={"turns": [{"role": "user", "content": "hi"}]})
    ).json()["id"]
    r = await client.post(f"/v1/sessions/{sid}/steps")
    assert r.status_code == 202, r.text
    step = r.json()
    assert step["session_id"] == sid and r.headers["location"] == step["status_url"]
    assert await _queued(redis_url) == 1
    task = (await client.get(step["status_url"])).json()
    assert task["kind"] == "session_step" and task["status"] == "queued"
    assert task["metadata"] == {"session_id": sid}

    # one step at a time: neither turns nor another step while it is pending
    again = await client.post(f"/v1/sessions/{sid}/steps")
    assert again.status_code == 409 and step["task_id"] in again.json()["error"]["message"]
    turn = await client.post(
        f"/v1/sessions/{sid}/turns", json={"turns": [{"role": "user", "content": "more"}]}
    )
    assert turn.status_code == 409
    view = (await client.get(f"/v1/sessions/{sid}")).json()
    assert view["pending_step"] == step["task_id"] and view["step_tasks"] == [step["task_id"]]

    # the step's task is cancelled while queued: its claim is stale and let go
    await TaskStore(aredis).cancel(step["task_id"])
    turn = await client.post(
        f"/v1/sessions/{sid}/turns", json={"turns": [{"role": "user", "content": "more"}]}
    )
    assert turn.status_code == 200
    assert (await client.post(f"/v1/sessions/{sid}/steps")).status_code == 202


async def test_sessions_are_tenant_scoped(client: httpx.AsyncClient) -> None:
    sid = (await client.post("/v1/sessions", json={})).json()["id"]
    other = {"Authorization": f"Bearer {KEY_T2}"}
    assert (await client.get(f"/v1/sessions/{sid}", headers=other)).status_code == 404
    turns = {"turns": [{"role": "user", "content": "x"}]}
    assert (
        await client.post(f"/v1/sessions/{sid}/turns", json=turns, headers=other)
    ).status_code == 404
    assert (await client.post(f"/v1/sessions/{sid}/steps", headers=other)).status_code == 404
    assert (await client.delete(f"/v1/sessions/{sid}", headers=other)).status_code == 404
    assert (await client.get("/v1/sessions/sess_nope")).status_code == 404


async def test_a_closed_session_takes_no_more_turns(client: httpx.AsyncClient) -> None:
    sid = (await client.post("/v1/sessions", json={})).json()["id"]
    r = await client.delete(f"/v1/sessions/{sid}")
    assert r.status_code == 200 and r.json()["state"] == "closed"
    turns = {"turns": [{"role": "user", "content": "x"}]}
    assert (await client.post(f"/v1/sessions/{sid}/turns", json=turns)).status_code == 409
    assert (await client.post(f"/v1/sessions/{sid}/steps")).status_code == 409


async def test_session_errors_have_the_shared_error_body(client: httpx.AsyncClient) -> None:
    missing = await client.get("/v1/sessions/sess_nope")
    assert missing.json()["error"] == {
        "type": "not_found",
        "message": "session 'sess_nope' not found",
    }
    sid = (await client.post("/v1/sessions", json={})).json()["id"]
    unpaired = await client.post(f"/v1/sessions/{sid}/turns", json={"turns": PAIR[:1]})
    error = unpaired.json()["error"]
    assert unpaired.status_code == 422 and error["type"] == "validation_error"
    assert [f["field"] for f in error["fields"]] == ["body.turns"]
    await client.delete(f"/v1/sessions/{sid}")
    closed = await client.post(f"/v1/sessions/{sid}/steps")
    assert closed.status_code == 409 and closed.json()["error"]["type"] == "conflict"
    assert "closed" in closed.json()["error"]["message"]


async def test_task_agent_params_are_checked_at_submission(
    client: httpx.AsyncClient, aredis: aioredis.Redis, gateway_settings
) -> None:
    hi = {"messages": [{"role": "user", "content": "Acme has 250 staff"}]}
    bad = await client.post(
        "/v1/tasks", json={**hi, "kind": "extract", "params": {"schema": {"type": "nope"}}}
    )
    assert bad.status_code == 422 and "schema" in bad.json()["error"]["message"]
    missing = await client.post("/v1/tasks", json={**hi, "kind": "extract"})
    assert missing.status_code == 422
    questions = await client.post(
        "/v1/tasks", json={**hi, "kind": "map_reduce", "params": {"questions": [""]}}
    )
    assert questions.status_code == 422
    assert "params.questions.0" in questions.json()["error"]["message"]
    tier = await client.post(
        "/v1/tasks", json={**hi, "kind": "map_reduce", "params": {"map_tier": "genius"}}
    )
    assert tier.status_code == 422 and "params.map_tier" in tier.json()["error"]["message"]


async def test_budget_params_and_auto_tier_reach_the_task_spec(
    client: httpx.AsyncClient, aredis: aioredis.Redis
) -> None:
    body = {
        "messages": [{"role": "user", "content": "Say hi"}],
        "tier": "auto",
        "max_cost_usd": 0.05,
    }
    r = await client.post("/v1/tasks", json=body)
    assert r.status_code == 202, r.text
    record = await TaskStore(aredis).get(r.json()["id"])
    assert str(record.spec.max_cost_usd) == "0.05"
    assert record.spec.tier_choice == "auto" and record.spec.input.tier == "frontier"


async def test_a_step_takes_a_webhook_by_the_task_rules(
    client: httpx.AsyncClient, aredis: aioredis.Redis
) -> None:
    sid = (
        await client.post("/v1/sessions", json={"turns": [{"role": "user", "content": "hi"}]})
    ).json()["id"]
    private = await client.post(
        f"/v1/sessions/{sid}/steps", json={"webhook_url": "https://127.0.0.1/hook"}
    )
    assert private.status_code == 422, private.text
    assert "body.webhook_url" in private.json()["error"]["message"]
    assert (await client.get(f"/v1/sessions/{sid}")).json()["pending_step"] is None

    hook = "https://93.184.215.14/hooks/agentqueue"  # a public address: nothing to resolve
    r = await client.post(f"/v1/sessions/{sid}/steps", json={"webhook_url": hook})
    assert r.status_code == 202, r.text
    stored = await TaskStore(aredis).get(r.json()["task_id"])
    assert stored.spec.webhook_url == hook

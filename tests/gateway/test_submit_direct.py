"""``POST /v1/tasks``'s direct handler (``gateway/api/direct.py``): a well-formed request
skips FastAPI's parameter solving; every other request gets FastAPI's own answer."""

from typing import Any

import fastapi.routing
import httpx
import pytest

from agentqueue.core.apikeys import ApiKeyRecord
from agentqueue.gateway.api.deps import get_caller
from agentqueue.gateway.app import create_app
from agentqueue.gateway.settings import GatewaySettings
from tests.gateway.conftest import KEY_T1

HI = {"messages": [{"role": "user", "content": "Say hi"}]}


@pytest.fixture
def solved(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The endpoints FastAPI solved parameters for, in order."""
    calls: list[str] = []
    solve = fastapi.routing.solve_dependencies  # type: ignore[attr-defined]

    async def counting(**kwargs: Any) -> Any:
        calls.append(kwargs["dependant"].call.__name__)
        return await solve(**kwargs)

    monkeypatch.setattr(fastapi.routing, "solve_dependencies", counting)
    return calls


async def test_a_wellformed_submission_skips_fastapis_parameter_solving(
    client: httpx.AsyncClient, solved: list[str]
) -> None:
    r = await client.post("/v1/tasks", json=HI, headers={"Idempotency-Key": "k-1"})
    assert r.status_code == 202 and solved == []
    r = await client.post("/v1/tasks", json={"messages": []})
    assert r.status_code == 422 and solved == ["submit_task"]
    assert "body.messages" in r.json()["error"]["message"]


@pytest.mark.parametrize(
    ("headers", "content", "status", "named"),
    [
        ({"content-type": "application/json; charset=utf-8"}, b'{"messages":[]}', 422, "body"),
        ({"content-type": "application/vnd.agentqueue+json"}, b"{}", 422, "body.messages"),
        ({"content-type": "text/plain"}, b'{"messages":[]}', 422, "body"),
        ({}, b"", 422, "body"),
        ({"content-type": "application/json"}, b'{"messages": [', 422, "body"),
        ({"content-type": "application/json", "Idempotency-Key": ""}, None, 422, "Idempotency"),
        ({"content-type": "application/json", "Idempotency-Key": "k" * 256}, None, 422, "Idem"),
        ({"content-type": "application/json; charset=utf-8"}, None, 202, None),
        ({"content-type": "application/vnd.agentqueue+json"}, None, 202, None),
    ],
)
async def test_other_requests_get_fastapis_answer(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    content: bytes | None,
    status: int,
    named: str | None,
) -> None:
    body = content if content is not None else b'{"messages":[{"role":"user","content":"hi"}]}'
    r = await client.post("/v1/tasks", content=body, headers=headers)
    assert r.status_code == status, r.text
    if named is not None:
        assert r.json()["error"]["type"] == "validation_error"
        assert named in r.json()["error"]["message"]


@pytest.mark.parametrize(
    "headers",
    [
        {"x-api-key": KEY_T1},
        {"Authorization": f"bearer {KEY_T1}"},
        {"Authorization": f"Bearer  {KEY_T1} "},
    ],
)
async def test_either_scheme_authenticates_a_submission(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    r = await client.post("/v1/tasks", json=HI, headers={"Authorization": "", **headers})
    assert r.status_code == 202, r.text
    assert (await client.get(r.json()["status_url"])).status_code == 200  # tenant t1's task


@pytest.mark.parametrize(
    "headers", [{"Authorization": ""}, {"Authorization": f"Basic {KEY_T1}"}, {"x-api-key": "no"}]
)
async def test_a_submission_without_a_valid_key_is_401_whatever_its_body(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    bodies: list[dict[str, Any]] = [HI, {"messages": []}]
    for body in bodies:
        r = await client.post("/v1/tasks", json=body, headers={"Authorization": "", **headers})
        assert r.status_code == 401, r.text


async def test_dependency_overrides_apply_to_submissions(
    gateway_settings: GatewaySettings,
) -> None:
    app = create_app(gateway_settings)
    app.dependency_overrides[get_caller] = lambda: ApiKeyRecord(
        key_id="test", tenant="t2", name="override"
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as c,
    ):
        r = await c.post("/v1/tasks", json=HI)
        assert r.status_code == 202, r.text
        assert await app.state.store.get(r.json()["id"], tenant="t2")


async def test_a_retry_is_the_same_body_whichever_path_served_it(
    client: httpx.AsyncClient, solved: list[str]
) -> None:
    """The body hashed for an Idempotency-Key is the same whether FastAPI or the direct
    handler parsed it (JSON-mode validation made ``12.0`` another Decimal than Python mode:
    the retry got 409)."""
    body = b'{"messages": [{"role": "user", "content": "Say hi"}], "max_cost_usd": 12.0}'
    key = {"Idempotency-Key": "same-body"}
    first = await client.post(
        "/v1/tasks", content=body, headers={**key, "content-type": "application/json;charset=utf-8"}
    )
    assert first.status_code == 202 and solved == ["submit_task"]  # FastAPI served it
    retry = await client.post(
        "/v1/tasks", content=body, headers={**key, "content-type": "application/json"}
    )
    assert retry.status_code == 202 and solved == ["submit_task"]  # the direct handler
    assert retry.headers.get("idempotent-replayed") == "true"
    assert retry.json()["id"] == first.json()["id"]

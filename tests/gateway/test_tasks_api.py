import httpx
import pytest
import redis

from agentqueue.core.tasks.model import TaskRecord
from agentqueue.gateway.settings import GatewaySettings
from tests.gateway.conftest import KEY_T2

HI = {"messages": [{"role": "user", "content": "Say hi"}]}


def _queued_ids(redis_url: str, queue: str) -> list[bytes]:
    client = redis.Redis.from_url(redis_url)
    try:
        return list(client.hkeys(f"dramatiq:{queue}.msgs"))
    finally:
        client.close()


async def test_submit_answers_202_with_id_and_status_url(
    client: httpx.AsyncClient, redis_url: str
) -> None:
    r = await client.post("/v1/tasks", json=HI)
    assert r.status_code == 202
    body = r.json()
    assert body["id"].startswith("task_") and body["status"] == "queued"
    assert body["priority"] == "standard"
    assert r.headers["location"] == body["status_url"] == f"/v1/tasks/{body['id']}"
    assert len(_queued_ids(redis_url, "standard")) == 1

    view = (await client.get(body["status_url"])).json()
    assert view["status"] == "queued" and view["kind"] == "completion"
    assert view["usage"]["input_tokens"] == 0 and view["cost_usd"] == 0


async def test_a_task_names_its_model_tools_and_answer_format(
    client: httpx.AsyncClient, redis_url: str
) -> None:
    """A catalog model sets the task's tier (fallback stays in it); tools, tool choice,
    stop, seed and the response format are stored with the task's input as given."""
    tools = [{"name": "get_weather", "input_schema": {"type": "object"}}]
    body = {
        **HI,
        "model": "gpt-4.1-mini",
        "tools": tools,
        "tool_choice": {"mode": "tool", "name": "get_weather"},
        "stop": ["END"],
        "seed": 7,
        "response_format": {"type": "json_object"},
    }
    r = await client.post("/v1/tasks", json=body)
    assert r.status_code == 202, r.text
    raw = redis.Redis.from_url(redis_url).get(f"aq:task:{r.json()['id']}")
    assert raw is not None
    spec = TaskRecord.model_validate_json(raw).spec.input
    assert spec.model == "gpt-4.1-mini" and spec.tier.value == "efficient"
    assert [t.name for t in spec.tools] == ["get_weather"]
    assert spec.tool_choice is not None and spec.tool_choice.name == "get_weather"
    assert spec.stop == ["END"] and spec.seed == 7
    assert spec.response_format is not None and spec.response_format.type == "json_object"


@pytest.mark.parametrize("priority", ["high", "standard", "batch"])
async def test_priority_chooses_the_queue(
    client: httpx.AsyncClient, redis_url: str, priority: str
) -> None:
    r = await client.post("/v1/tasks", json={**HI, "priority": priority})
    assert r.status_code == 202
    for queue in ("high", "standard", "batch"):
        assert len(_queued_ids(redis_url, queue)) == (1 if queue == priority else 0)


async def test_idempotent_resubmission_returns_the_same_task(
    client: httpx.AsyncClient, redis_url: str
) -> None:
    headers = {"Idempotency-Key": "order-42"}
    first = await client.post("/v1/tasks", json=HI, headers=headers)
    again = await client.post("/v1/tasks", json=HI, headers=headers)
    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    assert len(_queued_ids(redis_url, "standard")) == 1


async def test_idempotency_key_reused_with_another_body_is_409(
    client: httpx.AsyncClient,
) -> None:
    headers = {"Idempotency-Key": "order-43"}
    await client.post("/v1/tasks", json=HI, headers=headers)
    r = await client.post("/v1/tasks", json={**HI, "priority": "high"}, headers=headers)
    assert r.status_code == 409
    assert "Idempotency-Key" in r.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body.messages"),
        ({"messages": []}, "body.messages"),
        ({"messages": [{"role": "robot", "content": "x"}]}, "body.messages.0.role"),
        # an empty turn: it needs text, tool calls, tool results or images
        ({"messages": [{"role": "user", "content": ""}]}, "body.messages.0"),
        ({**HI, "priority": "urgent"}, "body.priority"),
        ({**HI, "tier": "genius"}, "body.tier"),
        ({**HI, "max_tokens": 0}, "body.max_tokens"),
        ({**HI, "temperature": 9}, "body.temperature"),
        ({**HI, "surprise": 1}, "body.surprise"),
        ({**HI, "kind": "Not A Kind"}, "body.kind"),
        ({**HI, "model": "gpt-9-imaginary"}, "body.model"),
        ({**HI, "tools": [{"name": "has space"}]}, "body.tools.0.name"),
        ({**HI, "tool_choice": {"mode": "tool"}}, "body.tool_choice"),
        ({**HI, "response_format": {"type": "json_schema"}}, "body.response_format"),
        ({**HI, "stop": ["a", "b", "c", "d", "e"]}, "body.stop"),
    ],
)
async def test_bad_payloads_get_422_naming_the_field(
    client: httpx.AsyncClient, body: dict[str, object], field: str
) -> None:
    r = await client.post("/v1/tasks", json=body)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["type"] == "validation_error"
    assert field in [f["field"] for f in error["fields"]]
    assert field in error["message"]


async def test_unknown_kind_is_refused_naming_the_field(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/tasks", json={**HI, "kind": "research"})
    assert r.status_code == 422
    assert "body.kind" in r.json()["error"]["message"]


async def test_malformed_json_is_422_not_500(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/v1/tasks", content=b'{"messages": [', headers={"content-type": "application/json"}
    )
    assert r.status_code == 422
    assert r.json()["error"]["type"] == "validation_error"


async def test_oversized_body_is_413(
    client: httpx.AsyncClient, gateway_settings: GatewaySettings
) -> None:
    big = {"messages": [{"role": "user", "content": "x" * (gateway_settings.max_body_bytes + 1)}]}
    r = await client.post("/v1/tasks", json=big)
    assert r.status_code == 413
    assert str(gateway_settings.max_body_bytes) in r.json()["error"]["message"]


async def test_oversized_chunked_body_is_413(
    client: httpx.AsyncClient, gateway_settings: GatewaySettings
) -> None:
    async def chunks():  # no content-length: the limit must count streamed bytes
        for _ in range(gateway_settings.max_body_bytes // 1024 + 2):
            yield b"x" * 1024

    r = await client.post(
        "/v1/tasks", content=chunks(), headers={"content-type": "application/json"}
    )
    assert r.status_code == 413


async def test_missing_or_wrong_key_is_401(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/tasks", json=HI, headers={"Authorization": ""})
    assert r.status_code == 401 and "missing API key" in r.json()["error"]["message"]
    r = await client.get("/v1/tasks/task_x", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401


async def test_another_tenants_task_is_404(client: httpx.AsyncClient) -> None:
    task_id = (await client.post("/v1/tasks", json=HI)).json()["id"]
    r = await client.get(f"/v1/tasks/{task_id}", headers={"Authorization": f"Bearer {KEY_T2}"})
    assert r.status_code == 404
    r = await client.get(f"/v1/tasks/{task_id}", headers={"x-api-key": KEY_T2, "Authorization": ""})
    assert r.status_code == 404


async def test_probes_metrics_and_docs(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).status_code == 200
    await client.post("/v1/tasks", json=HI)
    metrics = (await client.get("/metrics")).text
    assert 'agentqueue_gateway_tasks_submitted_total{priority="standard"}' in metrics
    spec = (await client.get("/openapi.json")).json()
    assert "/v1/tasks" in spec["paths"] and "/v1/tasks/{task_id}" in spec["paths"]


def test_malformed_environment_keys_are_refused_at_start(redis_url: str) -> None:
    with pytest.raises(ValueError, match="AGENTQUEUE_API_KEYS"):
        GatewaySettings(redis_url=redis_url, api_keys="tenant-without-key")


async def test_tenant_over_its_daily_spend_gets_429_with_retry_after(
    gateway_settings, aredis
) -> None:
    from decimal import Decimal

    from agentqueue.core.llm.messages import Usage
    from agentqueue.core.ratelimit.quotas import TenantQuotas
    from tests.gateway.conftest import KEY_T1
    from tests.gateway_app import gateway_client

    settings = gateway_settings.model_copy(update={"tenant_quotas": {"t1": {"usd_per_day": 1}}})
    async with gateway_client(settings, KEY_T1) as client:
        assert (await client.post("/v1/tasks", json=HI)).status_code == 202
        await TenantQuotas(aredis, settings.quotas()).record(
            "t1", "claude-sonnet-4-6", Usage(input_tokens=1), Decimal("1.5")
        )
        refused = await client.post("/v1/tasks", json=HI)
    assert refused.status_code == 429
    assert refused.json()["error"]["type"] == "quota_exceeded"
    assert "'t1'" in refused.json()["error"]["message"]
    assert 0 < int(refused.headers["retry-after"]) <= 86_400

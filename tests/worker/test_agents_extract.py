"""extract: the answer validates against the schema, one retry shows the model its error,
a second failure is a clear error. User agents load from entry points.

The retry and failure paths use a scripted provider (a real :class:`Provider` in a real
:class:`FallbackChain`) that answers what each test scripts; the simulator, which keeps
to a requested JSON schema, shows the success path through the official SDKs.
"""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import jsonschema
import pytest

from agentqueue.core.calls.fallback import FallbackChain
from agentqueue.core.llm.catalog import load_catalog
from agentqueue.core.llm.messages import Completion, CompletionRequest, StreamEvent, Usage
from agentqueue.core.llm.providers.base import Provider, ProviderConfig
from agentqueue.core.tasks.model import TaskState
from agentqueue.core.tasks.store import TaskStore
from agentqueue.worker import agents
from agentqueue.worker.agents.runtime import AgentRuntime
from agentqueue.worker.runner import TaskFailed, TaskRunner
from tests.worker.agent_helpers import submit

SCHEMA = {
    "type": "object",
    "properties": {
        "company": {"type": "string"},
        "employees": {"type": "integer", "minimum": 0},
    },
    "required": ["company", "employees"],
    "additionalProperties": False,
}
DOC = "Acme Corp, founded 1999, now employs 250 people in three offices."


class ScriptedProvider(Provider):
    """Answers each call with the next scripted text and keeps every request."""

    name = "anthropic"

    def __init__(self, answers: list[str]) -> None:
        super().__init__(ProviderConfig(name="anthropic", api_key="unused", simulated=True))
        self.answers = list(answers)
        self.requests: list[CompletionRequest] = []

    async def complete(self, request: CompletionRequest, model: str) -> Completion:
        self.requests.append(request)
        return Completion(
            text=self.answers.pop(0),
            provider=self.name,
            model=model,
            usage=Usage(input_tokens=100, output_tokens=20),
        )

    async def stream(self, request: CompletionRequest, model: str) -> AsyncIterator[StreamEvent]:
        yield await self.complete(request, model)


def scripted_runner(store: TaskStore, answers: list[str]) -> tuple[TaskRunner, ScriptedProvider]:
    provider = ScriptedProvider(answers)
    chain = FallbackChain([provider], load_catalog())
    runtime = AgentRuntime(catalog=chain.catalog, providers=["anthropic"])
    return TaskRunner(store, chain, runtime=runtime), provider


async def test_a_valid_answer_is_returned_as_data(store: TaskStore) -> None:
    runner, provider = scripted_runner(
        store, ['```json\n{"company": "Acme Corp", "employees": 250}\n```']
    )
    task_id = await submit(store, "extract", DOC, params={"schema": SCHEMA})
    await runner.run(task_id, retries_done=0, retries_left=0)
    record = await store.get(task_id)
    assert record.state is TaskState.SUCCEEDED and record.result is not None
    assert record.result.data == {"company": "Acme Corp", "employees": 250}
    assert json.loads(record.result.text) == record.result.data
    system = provider.requests[0].system or ""
    assert "JSON schema" in system and '"employees"' in system
    assert [c.step for c in record.calls] == ["extract"]


async def test_an_invalid_answer_is_retried_once_with_the_validation_error(
    store: TaskStore,
) -> None:
    runner, provider = scripted_runner(
        store,
        [
            '{"company": "Acme Corp", "employees": "250"}',
            '{"company": "Acme Corp", "employees": 250}',
        ],
    )
    task_id = await submit(store, "extract", DOC, params={"schema": SCHEMA})
    await runner.run(task_id, retries_done=0, retries_left=0)
    record = await store.get(task_id)
    assert record.state is TaskState.SUCCEEDED and record.result is not None
    assert record.result.data["employees"] == 250
    retry = provider.requests[1].messages
    assert retry[-2].role == "assistant" and '"250"' in retry[-2].content
    assert "at employees: '250' is not of type 'integer'" in retry[-1].content
    assert [c.step for c in record.calls] == ["extract", "extract:retry"]


async def test_two_invalid_answers_fail_the_task_with_what_did_not_validate(
    store: TaskStore,
) -> None:
    runner, _ = scripted_runner(store, ['{"company": "Acme"}', "Sure! Here it is: Acme, 250"])
    task_id = await submit(store, "extract", DOC, params={"schema": SCHEMA})
    with pytest.raises(TaskFailed):
        await runner.run(task_id, retries_done=0, retries_left=3)
    record = await store.get(task_id)
    assert record.error is not None and record.error.type == "ExtractionFailed"
    assert "after one retry" in record.error.message and "not JSON" in record.error.message
    assert not record.error.retryable and len(record.calls) == 2


async def test_against_the_simulator_the_schema_travels_as_the_answer_format(
    runner: TaskRunner, store: TaskStore, simulator
) -> None:
    """No scripting: the schema goes to the provider as the request's response format
    (for Claude, a tool it is made to call), and the simulator keeps to it."""
    task_id = await submit(store, "extract", DOC, params={"schema": SCHEMA})
    await runner.run(task_id, retries_done=0, retries_left=0)
    record = await store.get(task_id)
    assert record.result is not None, record.error
    jsonschema.validate(record.result.data, SCHEMA)
    assert len(record.calls) == 1  # valid the first time: no retry
    assert simulator.stats()["providers"]["anthropic"]["ok"] == 1


async def test_auto_routes_a_short_extraction_to_the_efficient_tier(store: TaskStore) -> None:
    from agentqueue.core.llm.routing import TierChoice

    runner, _ = scripted_runner(store, ['{"company": "Acme Corp", "employees": 250}'])
    task_id = await submit(store, "extract", DOC, params={"schema": SCHEMA}, tier=TierChoice.AUTO)
    await runner.run(task_id, retries_done=0, retries_left=0)
    [call] = (await store.get(task_id)).calls
    assert call.model == "claude-haiku-4-5"
    assert call.route is not None and call.route.rule == "structured-output"


@pytest.fixture
def installed_agent_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A package registering an agent under ``agentqueue.agents``, installed on sys.path
    the way pip lays one out (module + dist-info with entry_points.txt)."""
    (tmp_path / "shouting_agent.py").write_text(
        textwrap.dedent(
            """
            from agentqueue.core.tasks.model import TaskResult


            class ShoutingAgent:
                async def run(self, spec, ctx):
                    answer = await ctx.complete(spec.input, step="shout")
                    return TaskResult(
                        text=answer.text.upper(), provider=answer.provider, model=answer.model
                    )
            """
        )
    )
    dist = tmp_path / "shouting_agent-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: shouting-agent\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[agentqueue.agents]\nshout = shouting_agent:ShoutingAgent\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(agents, "_loaded", {})
    yield "shout"
    sys.modules.pop("shouting_agent", None)


async def test_a_user_agent_registered_as_an_entry_point_runs(
    installed_agent_package: str, runner: TaskRunner, store: TaskStore, simulator
) -> None:
    assert installed_agent_package in agents.known_kinds()
    task_id = await submit(store, installed_agent_package, "Say hi")
    await runner.run(task_id, retries_done=0, retries_left=0)
    record = await store.get(task_id)
    assert record.state is TaskState.SUCCEEDED and record.result is not None
    assert record.result.text == record.result.text.upper() and "SIMULATED" in record.result.text
    assert [c.step for c in record.calls] == ["shout"]


async def test_an_unknown_kind_lists_what_is_known(store: TaskStore) -> None:
    with pytest.raises(agents.UnknownAgent, match="map_reduce"):
        agents.get_agent("no_such_agent")

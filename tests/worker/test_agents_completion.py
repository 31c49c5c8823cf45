"""The completion agent with tools and a JSON answer format, on the simulator: a task's
result holds the model's tool calls; the next turn, with their results, gets the answer."""

import jsonschema

from agentqueue.core.llm.messages import (
    ChatMessage,
    CompletionRequest,
    ResponseFormat,
    ToolResult,
    ToolSpec,
)
from agentqueue.core.tasks.model import TaskRecord, TaskSpec, TaskState
from agentqueue.core.tasks.store import TaskStore
from agentqueue.worker.runner import TaskRunner

WEATHER = ToolSpec(
    name="get_weather",
    description="Current weather in a city",
    input_schema={
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"enum": ["C", "F"]}},
        "required": ["city", "unit"],
        "additionalProperties": False,
    },
)


async def _run(runner: TaskRunner, store: TaskStore, request: CompletionRequest) -> TaskRecord:
    record, _ = await store.create(TaskRecord(tenant="t", spec=TaskSpec(input=request)))
    await runner.run(record.id, retries_done=0, retries_left=0)
    done = await store.get(record.id)
    assert done.state is TaskState.SUCCEEDED, done.error
    return done


async def test_a_task_with_tools_returns_the_call_then_answers_with_its_result(
    runner: TaskRunner, store: TaskStore
) -> None:
    ask = ChatMessage(role="user", content="What is the weather in Lisbon?")
    first = await _run(
        runner, store, CompletionRequest(messages=[ask], tools=[WEATHER], max_tokens=200)
    )
    assert first.result is not None
    [call] = first.result.tool_calls
    assert call.name == "get_weather"
    jsonschema.validate(call.arguments, WEATHER.input_schema)

    turn = [
        ask,
        ChatMessage(role="assistant", tool_calls=[call]),
        ChatMessage(
            role="user", tool_results=[ToolResult(tool_call_id=call.id, content="21 C, sunny")]
        ),
    ]
    second = await _run(
        runner, store, CompletionRequest(messages=turn, tools=[WEATHER], max_tokens=200)
    )
    assert second.result is not None and not second.result.tool_calls
    assert "21 C, sunny" in second.result.text


async def test_a_json_schema_answer_is_parsed_into_the_result(
    runner: TaskRunner, store: TaskStore
) -> None:
    schema = {
        "type": "object",
        "properties": {"title": {"type": "string"}, "year": {"type": "integer"}},
        "required": ["title", "year"],
    }
    done = await _run(
        runner,
        store,
        CompletionRequest(
            messages=[ChatMessage(role="user", content="A film, as JSON")],
            model="gpt-4.1",
            response_format=ResponseFormat(type="json_schema", name="film", json_schema=schema),
        ),
    )
    assert done.result is not None
    jsonschema.validate(done.result.data, schema)

"""``extract``: structured output that validates against a JSON schema, or a clear error.

Parameters (``params``, :class:`~agentqueue.core.tasks.agent_params.ExtractParams`):
``schema`` — a JSON schema (checked when the task is submitted, by the same model).
The request carries the schema as its ``response_format`` (providers with structured
output keep to it: OpenAI's ``json_schema``, Gemini's response schema, Claude through a
tool it is made to call), and the model is also told to reply with JSON only, for a
provider that has no such mode; the reply is parsed (a Markdown code fence
around it is tolerated) and validated with ``jsonschema``. An invalid reply gets one
more try, with the validation error shown to the model — most mistakes are a missing
field or a wrong type, which the model fixes when told. A second failure fails the task
with :class:`ExtractionFailed`, naming what did not validate.
"""

from __future__ import annotations

import json
import re
from typing import Any

from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from agentqueue.core.base.errors import AgentQueueError
from agentqueue.core.llm.messages import ChatMessage, ResponseFormat
from agentqueue.core.tasks.agent_params import ExtractParams
from agentqueue.core.tasks.model import TaskResult, TaskSpec
from agentqueue.worker.agents.base import AgentContext

_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


class ExtractionFailed(AgentQueueError):
    """The model's answer did not validate against the schema, twice."""


def instructions(schema: dict[str, Any]) -> str:
    return (
        "Reply with a single JSON value and nothing else (no prose, no code fence). "
        "It must validate against this JSON schema:\n" + json.dumps(schema, indent=1)
    )


def validate(text: str, schema: dict[str, Any]) -> tuple[Any, str | None]:
    """The parsed value and None, or None and what is wrong with it."""
    match = _FENCE.match(text)
    raw = match.group(1) if match else text.strip()
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        return None, f"the reply is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
    errors = sorted(Draft202012Validator(schema).iter_errors(value), key=lambda e: list(e.path))
    if errors:
        described = "; ".join(
            f"at {'/'.join(str(p) for p in e.path) or '(root)'}: {e.message}" for e in errors[:5]
        )
        return None, f"the JSON does not match the schema: {described}"
    return value, None


class ExtractAgent:
    async def run(self, spec: TaskSpec, ctx: AgentContext) -> TaskResult:
        schema = ExtractParams.parse(spec.kind, spec.params).json_schema
        base = spec.input
        system = instructions(schema)
        request = base.model_copy(
            update={
                "system": f"{base.system}\n\n{system}" if base.system else system,
                # not strict: OpenAI's strict mode accepts only a subset of JSON schema
                "response_format": ResponseFormat(
                    type="json_schema", name="extract", json_schema=schema
                ),
            }
        )
        answer = await ctx.complete(request, step="extract", schema=True)
        value, problem = validate(answer.text, schema)
        if problem is not None:
            retry = request.model_copy(
                update={
                    "messages": [
                        *request.messages,
                        ChatMessage(role="assistant", content=answer.text or "(empty)"),
                        ChatMessage(
                            role="user",
                            content=f"That reply is invalid: {problem}. Reply again with the "
                            "corrected JSON only.",
                        ),
                    ]
                }
            )
            answer = await ctx.complete(retry, step="extract:retry", schema=True)
            value, problem = validate(answer.text, schema)
            if problem is not None:
                raise ExtractionFailed(
                    f"the model's answer did not validate against the schema after one "
                    f"retry: {problem}"
                )
        return TaskResult(
            text=json.dumps(value), provider=answer.provider, model=answer.model, data=value
        )

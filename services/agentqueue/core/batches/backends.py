"""One provider's batch API, through its official SDK, behind one small interface.

A request line is built by the adapter's own request code (``_sdk_params``/``_args``), so
a batch request is exactly the online one; an answer is read back by the adapter's own
``_completion``. Per provider:

- OpenAI: the lines as a JSONL file (``files.create(purpose="batch")``), then
  ``batches.create(endpoint="/v1/chat/completions", completion_window="24h")``; results
  in the output and error files, by ``custom_id``;
- Anthropic: ``messages.batches.create(requests=[{custom_id, params}])``; results by
  ``custom_id`` (``succeeded``, ``errored``, ``canceled``, ``expired``);
- Gemini: ``batches.create(src=[inlined requests])``; inlined responses in request order
  (the batch record keeps the order).

A result missing from an ended batch (expired, cancelled, not run) is ``None``: the
processor resubmits it.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from agentqueue.core.llm.messages import Completion, CompletionRequest
from agentqueue.core.llm.providers.base import Provider


class BatchState(StrEnum):
    RUNNING = "running"
    #: Ended: every request has a result (success or error).
    ENDED = "ended"
    #: Ended before every request ran (expired, cancelled, failed as a whole): the
    #: results present are applied, the rest resubmitted.
    INCOMPLETE = "incomplete"


@dataclass(frozen=True)
class RequestError:
    """One request's error in a batch: ``retryable`` errors are tried again."""

    type: str
    message: str
    retryable: bool = True


#: A task's outcome in an ended batch: its answer, its error, or None (did not run).
Outcome = Completion | RequestError | None


class BatchBackend(Protocol):
    provider: str

    def line(self, custom_id: str, request: CompletionRequest, model: str) -> dict[str, Any]:
        """The request as the provider's batch line (JSON-serialisable)."""
        ...

    async def submit(self, lines: list[dict[str, Any]], model: str) -> str:
        """Create the batch; the provider's batch id."""
        ...

    async def state(self, batch_id: str) -> BatchState: ...

    async def results(
        self, batch_id: str, order: list[str], lines: dict[str, dict[str, Any]], model: str
    ) -> dict[str, Outcome]:
        """Each custom id's outcome (``order``: the custom ids as submitted; ``lines``:
        each one's request line)."""
        ...


class OpenAIBatches:
    provider = "openai"

    def __init__(self, adapter: Any) -> None:  # an OpenAIProvider
        self.adapter = adapter
        self.client = adapter._client

    def line(self, custom_id: str, request: CompletionRequest, model: str) -> dict[str, Any]:
        body = self.adapter._sdk_params(request, model)
        return {
            "custom_id": custom_id,
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": body,
        }

    async def submit(self, lines: list[dict[str, Any]], model: str) -> str:
        data = "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines)
        upload = await self.client.files.create(
            file=("batch.jsonl", io.BytesIO(data.encode()), "application/jsonl"),
            purpose="batch",
        )
        batch = await self.client.batches.create(
            input_file_id=upload.id,
            endpoint="/v1/chat/completions",
            completion_window="24h",
        )
        return str(batch.id)

    async def state(self, batch_id: str) -> BatchState:
        batch = await self.client.batches.retrieve(batch_id)
        if batch.status == "completed":
            return BatchState.ENDED
        if batch.status in ("expired", "cancelled", "failed"):
            return BatchState.INCOMPLETE
        return BatchState.RUNNING

    async def _file_lines(self, file_id: str | None) -> list[dict[str, Any]]:
        if not file_id:
            return []
        content = await self.client.files.content(file_id)
        return [json.loads(row) for row in content.text.splitlines() if row.strip()]

    async def results(
        self, batch_id: str, order: list[str], lines: dict[str, dict[str, Any]], model: str
    ) -> dict[str, Outcome]:
        from openai.types.chat import ChatCompletion

        batch = await self.client.batches.retrieve(batch_id)
        out: dict[str, Outcome] = dict.fromkeys(order)
        rows = await self._file_lines(batch.output_file_id)
        rows += await self._file_lines(batch.error_file_id)
        for row in rows:
            custom_id = row.get("custom_id")
            if custom_id not in out:
                continue
            response = row.get("response") or {}
            status = int(response.get("status_code") or 0)
            if status == 200 and not row.get("error"):
                completion = ChatCompletion.model_validate(response.get("body") or {})
                out[custom_id] = self.adapter._completion(completion, model)
            else:
                error = row.get("error") or (response.get("body") or {}).get("error") or {}
                message = str(error.get("message") or f"status {status}")
                # 4xx but 408/429 are the request's own fault: retrying changes nothing
                retryable = status == 0 or status >= 500 or status in (408, 429)
                code = str(error.get("code") or error.get("type") or f"http_{status}")
                out[custom_id] = RequestError(code, message, retryable)
        return out


class AnthropicBatches:
    provider = "anthropic"

    def __init__(self, adapter: Any) -> None:  # an AnthropicProvider
        self.adapter = adapter
        self.client = adapter._client

    def line(self, custom_id: str, request: CompletionRequest, model: str) -> dict[str, Any]:
        params = dict(self.adapter._sdk_params(request, model))
        params.update(params.pop("extra_body", None) or {})  # sampling: plain fields here
        return {
            "custom_id": custom_id,
            "params": params,
            "request": request.model_dump(mode="json", exclude_none=True),
        }

    async def submit(self, lines: list[dict[str, Any]], model: str) -> str:
        requests = [{"custom_id": ln["custom_id"], "params": ln["params"]} for ln in lines]
        batch = await self.client.messages.batches.create(requests=requests)
        return str(batch.id)

    async def state(self, batch_id: str) -> BatchState:
        batch = await self.client.messages.batches.retrieve(batch_id)
        return BatchState.ENDED if batch.processing_status == "ended" else BatchState.RUNNING

    async def results(
        self, batch_id: str, order: list[str], lines: dict[str, dict[str, Any]], model: str
    ) -> dict[str, Outcome]:
        out: dict[str, Outcome] = dict.fromkeys(order)
        decoder = await self.client.messages.batches.results(batch_id)
        async for entry in decoder:
            if entry.custom_id not in out:
                continue
            result = entry.result
            if result.type == "succeeded":
                # _completion reads the request's answer format (a JSON answer is a tool)
                request = CompletionRequest.model_validate(lines[entry.custom_id]["request"])
                out[entry.custom_id] = self.adapter._completion(
                    result.message, model, None, request
                )
            elif result.type == "errored":
                error = getattr(result.error, "error", result.error)
                kind = str(getattr(error, "type", "api_error"))
                message = str(getattr(error, "message", kind))
                retryable = kind in ("api_error", "overloaded_error", "rate_limit_error")
                out[entry.custom_id] = RequestError(kind, message, retryable)
            # canceled / expired: None, resubmitted
        return out


class GoogleBatches:
    provider = "google"

    def __init__(self, adapter: Any) -> None:  # a GoogleProvider
        self.adapter = adapter
        self.client = adapter._client

    def line(self, custom_id: str, request: CompletionRequest, model: str) -> dict[str, Any]:
        from google.genai import types

        contents, config = self.adapter._args(request, model)
        inlined = types.InlinedRequest(
            contents=contents, config=config, metadata={"custom_id": custom_id}
        )
        return {
            "custom_id": custom_id,
            "inlined": inlined.model_dump(mode="json", exclude_none=True),
        }

    async def submit(self, lines: list[dict[str, Any]], model: str) -> str:
        from google.genai import types

        src = [types.InlinedRequest.model_validate(ln["inlined"]) for ln in lines]
        job = await self.client.aio.batches.create(
            model=self.adapter.config.remote_model(model), src=src
        )
        return str(job.name)

    async def state(self, batch_id: str) -> BatchState:
        job = await self.client.aio.batches.get(name=batch_id)
        state = str(getattr(job.state, "name", job.state))
        if state in ("JOB_STATE_SUCCEEDED", "JOB_STATE_PARTIALLY_SUCCEEDED"):
            return BatchState.ENDED
        if state in ("JOB_STATE_FAILED", "JOB_STATE_CANCELLED", "JOB_STATE_EXPIRED"):
            return BatchState.INCOMPLETE
        return BatchState.RUNNING

    async def results(
        self, batch_id: str, order: list[str], lines: dict[str, dict[str, Any]], model: str
    ) -> dict[str, Outcome]:
        from agentqueue.core.llm.providers.google import _text

        job = await self.client.aio.batches.get(name=batch_id)
        out: dict[str, Outcome] = dict.fromkeys(order)
        responses = (job.dest.inlined_responses if job.dest else None) or []
        for i, answer in enumerate(responses):
            metadata = answer.metadata or {}
            custom_id = metadata.get("custom_id") or (order[i] if i < len(order) else None)
            if custom_id not in out:
                continue
            if answer.response is not None:
                response = answer.response
                out[custom_id] = self.adapter._completion(response, _text(response), model)
            elif answer.error is not None:
                code = int(getattr(answer.error, "code", 0) or 0)
                message = str(getattr(answer.error, "message", "") or f"code {code}")
                out[custom_id] = RequestError(
                    f"status_{code}", message, code in (0, 429) or code >= 500
                )
        return out


def backend_for(provider: Provider) -> BatchBackend:
    """The batch API of ``provider``'s SDK client (the adapter's own client)."""
    if provider.name == "openai":
        return OpenAIBatches(provider)
    if provider.name == "anthropic":
        return AnthropicBatches(provider)
    if provider.name == "google":
        return GoogleBatches(provider)
    raise ValueError(f"no batch API for provider {provider.name!r}")

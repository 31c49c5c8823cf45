"""The SDKs' first error and first stream are parsed at a service's start, not on a
request (``core/llm/sdk_warmup.py``): the first ``OverloadedError`` the Anthropic SDK
builds costs ~40 ms of CPU otherwise, and Gemini's first answer ~23 ms, in the event
loop, as an outage starts.

Checked in a fresh interpreter (nothing parsed before) by counting the pydantic schemas
built while the first responses of a kind are parsed: none once warmed."""

from __future__ import annotations

from tests.core.llm.fresh_interpreter import WORKER_START, gateway_start, run_fresh

FIRST_RESPONSES = """
import importlib, anthropic, openai
# the HTTP package the SDKs take (httpx, or its httpx2 fork)
httpx = importlib.import_module(anthropic.DefaultHttpxClient.__mro__[1].__module__.split(".")[0])
from openai._models import construct_type
from openai.types.chat import ChatCompletionChunk
from pydantic._internal import _generate_schema
from google.genai import errors as genai_errors, types

{start}

built = []
original = _generate_schema.GenerateSchema.generate_schema
def counted(self, obj, *args, **kwargs):
    built.append(repr(obj)[:80])
    return original(self, obj, *args, **kwargs)
_generate_schema.GenerateSchema.generate_schema = counted

request = httpx.Request("POST", "http://x/v1/messages")
overloaded = {{"type": "error", "error": {{"type": "overloaded_error", "message": "down"}}}}
error = anthropic.Anthropic(api_key="k")._make_status_error_from_response(
    httpx.Response(529, json=overloaded, request=request)
)
assert type(error).__name__ == "OverloadedError"
error = openai.OpenAI(api_key="k")._make_status_error_from_response(
    httpx.Response(503, json={{"error": {{"message": "down"}}}}, request=request)
)
chunk = {{"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
          "choices": [{{"index": 0, "delta": {{"content": "hi"}}, "finish_reason": None}}]}}
construct_type(type_=ChatCompletionChunk, value=chunk)
# Gemini: a request's config, an answer (as the adapter's calls parse them), a 503
types.GenerateContentConfig(system_instruction="s", max_output_tokens=5, temperature=0)
answer = {{"candidates": [{{"content": {{"role": "model", "parts": [{{"text": "hi"}}]}},
                           "finishReason": "STOP", "index": 0}}],
          "usageMetadata": {{"promptTokenCount": 1, "candidatesTokenCount": 1}}}}
types.GenerateContentResponse._from_response(response=answer, kwargs={{}})
try:
    genai_errors.APIError.raise_for_response(
        httpx.Response(503, json={{"error": {{"code": 503, "message": "down"}}}})
    )
except genai_errors.ServerError:
    pass
print(len(built), built[:5])
"""


def _schemas_built_after(start: str) -> int:
    return int(run_fresh(FIRST_RESPONSES.format(start=start))[0])


def test_cold_sdks_build_schemas_on_their_first_responses() -> None:
    """The control: what the warm-up is for still happens without it."""
    assert _schemas_built_after("") > 0


def test_warmed_sdks_build_none() -> None:
    start = "from agentqueue.core.llm.sdk_warmup import warm_sdks\nwarm_sdks()"
    assert _schemas_built_after(start) == 0


def test_a_worker_warms_them_as_it_builds_its_runner() -> None:
    assert _schemas_built_after(WORKER_START) == 0


def test_the_gateway_warms_them_before_it_is_ready(redis_url: str) -> None:
    assert _schemas_built_after(gateway_start(redis_url)) == 0

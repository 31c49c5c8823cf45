"""A script's calls made in one loop turn go to Redis as one pipeline; each caller gets
its own reply or its own error (real redis-server)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from agentqueue.core.base.batched_script import BatchedScript
from agentqueue.core.base.ports import free_port
from agentqueue.core.base.redisconn import async_redis

#: Counts its calls in KEYS[1]; refuses the argument "bad" with an error of its own.
SCRIPT = """
redis.call('INCR', KEYS[1])
if ARGV[1] == 'bad' then return redis.error_reply('refused ' .. ARGV[1]) end
return 'echo:' .. ARGV[1]
"""


class _PipelineCount:
    """Wraps a client's ``pipeline`` to count the pipelines sent through it."""

    def __init__(self, client: aioredis.Redis, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        original = client.pipeline

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(client, "pipeline", counted)


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = async_redis(redis_url)
    yield client
    await client.aclose()


async def test_calls_of_one_turn_share_one_pipeline_and_get_their_own_replies(
    client: aioredis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = BatchedScript(client, SCRIPT)
    await script(["calls"], ["first"])  # Redis knows the script: no NOSCRIPT round
    pipelines = _PipelineCount(client, monkeypatch)
    replies = await asyncio.gather(*(script(["calls"], [str(i)]) for i in range(50)))
    assert replies == [f"echo:{i}".encode() for i in range(50)]
    assert pipelines.count == 1
    assert await client.get("calls") == b"51"


async def test_a_call_alone_is_a_plain_evalsha(
    client: aioredis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = BatchedScript(client, SCRIPT)
    pipelines = _PipelineCount(client, monkeypatch)
    assert await script(["calls"], ["one"]) == b"echo:one"
    assert await script(["calls"], ["two"]) == b"echo:two"  # awaited in turn: never batched
    assert pipelines.count == 0


async def test_a_refused_call_fails_its_own_caller_only(client: aioredis.Redis) -> None:
    script = BatchedScript(client, SCRIPT)
    replies = await asyncio.gather(
        script(["calls"], ["a"]),
        script(["calls"], ["bad"]),
        script(["calls"], ["c"]),
        return_exceptions=True,
    )
    assert replies[0] == b"echo:a" and replies[2] == b"echo:c"
    assert isinstance(replies[1], ResponseError) and "refused bad" in str(replies[1])
    # alone, the same refusal is the same error
    with pytest.raises(ResponseError, match="refused bad"):
        await script(["calls"], ["bad"])


async def test_a_script_redis_forgot_is_loaded_again(
    client: aioredis.Redis, aredis: aioredis.Redis
) -> None:
    script = BatchedScript(client, SCRIPT)
    await script(["calls"], ["first"])
    await aredis.script_flush()
    replies = await asyncio.gather(*(script(["calls"], [str(i)]) for i in range(5)))
    assert replies == [f"echo:{i}".encode() for i in range(5)]
    await aredis.script_flush()
    assert await script(["calls"], ["alone"]) == b"echo:alone"
    assert await client.get("calls") == b"7"  # a call refused NOSCRIPT ran nothing


async def test_a_turn_larger_than_the_cap_goes_in_several_pipelines(
    client: aioredis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = BatchedScript(client, SCRIPT, max_batch=4)
    await script(["calls"], ["first"])
    pipelines = _PipelineCount(client, monkeypatch)
    replies = await asyncio.gather(*(script(["calls"], [str(i)]) for i in range(10)))
    assert replies == [f"echo:{i}".encode() for i in range(10)]
    assert pipelines.count == 3  # 4 + 4 + 2


async def test_a_cancelled_caller_leaves_the_others_their_replies(
    client: aioredis.Redis,
) -> None:
    script = BatchedScript(client, SCRIPT)
    callers = [asyncio.ensure_future(script(["calls"], [str(i)])) for i in range(6)]
    await asyncio.sleep(0)  # every caller has joined the turn's batch
    callers[2].cancel()
    done = await asyncio.gather(*callers, return_exceptions=True)
    assert isinstance(done[2], asyncio.CancelledError)
    assert [done[i] for i in (0, 1, 3, 4, 5)] == [f"echo:{i}".encode() for i in (0, 1, 3, 4, 5)]
    assert await client.get("calls") == b"6"  # its script was sent with the batch: it ran


async def test_redis_unreachable_fails_every_caller_of_the_batch() -> None:
    client = async_redis(f"redis://127.0.0.1:{free_port()}/0", retry_seconds=0)
    try:
        script = BatchedScript(client, SCRIPT)
        replies = await asyncio.gather(
            *(script(["calls"], [str(i)]) for i in range(3)), return_exceptions=True
        )
        assert all(isinstance(r, RedisConnectionError) for r in replies), replies
        with pytest.raises(RedisConnectionError):
            await script(["calls"], ["alone"])
    finally:
        await client.aclose()

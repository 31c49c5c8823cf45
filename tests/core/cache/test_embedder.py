"""The provider-embedding fallback through the official OpenAI SDK, against a local
embeddings endpoint; text normalisation; vectors of unit length."""

from __future__ import annotations

import numpy as np
from aiohttp import web

from agentqueue.core.base.ports import free_port
from agentqueue.core.cache.embedder import OpenAIEmbedder, normalise_text, unit


async def test_openai_embeddings_come_back_unit_length() -> None:
    seen: list[dict] = []

    async def embeddings(request: web.Request) -> web.Response:
        body = await request.json()
        seen.append(body)
        return web.json_response(
            {
                "object": "list",
                "data": [{"object": "embedding", "index": 0, "embedding": [3.0, 4.0, 0.0]}],
                "model": body["model"],
                "usage": {"prompt_tokens": 3, "total_tokens": 3},
            }
        )

    app = web.Application()
    app.router.add_post("/v1/embeddings", embeddings)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    embedder = OpenAIEmbedder("test-key", f"http://127.0.0.1:{port}/v1")
    try:
        vector = await embedder.embed("  What is\n the   capital? ")
    finally:
        await embedder.aclose()
        await runner.cleanup()
    assert np.allclose(vector, [0.6, 0.8, 0.0]) and vector.dtype == np.float32
    assert seen[0]["model"] == "text-embedding-3-small"
    assert seen[0]["input"] == "What is the capital?"
    assert embedder.name == "openai-text-embedding-3-small"


def test_normalise_and_unit() -> None:
    assert normalise_text("a \t b\n\nc ") == "a b c"
    assert np.linalg.norm(unit([1.0, 2.0, 2.0])) == np.float32(1.0)
    assert not unit([0.0, 0.0]).any()

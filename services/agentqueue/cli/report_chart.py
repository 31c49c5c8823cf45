"""``agentqueue report --chart out.html|out.png``: the cost histograms as a file to share.

Why two formats: HTML is written with the standard library alone — one self-contained
file, the bars as inline SVG, no script and no CDN, so it opens on an air-gapped
cluster's jump host and can be attached to a capacity review. PNG needs matplotlib, an
optional extra (``pip install 'agentqueue[charts]'``), because a plotting stack is heavy
for a command-line tool that mostly prints; without it the command says so and writes
nothing.
"""

from __future__ import annotations

import html
import importlib
from pathlib import Path
from typing import Any

from agentqueue.cli.report_stats import Bin

#: What the PNG needs, and how to get it.
MATPLOTLIB_MISSING = (
    "a PNG chart needs matplotlib: pip install 'agentqueue[charts]' "
    "(or write --chart out.html, which needs nothing)"
)

_W, _H, _PAD_L, _PAD_B, _PAD_T = 640, 260, 56, 64, 24


class ChartError(Exception):
    """The chart cannot be written (unknown extension, matplotlib missing)."""


def usd(value: float) -> str:
    if value == 0:
        return "$0"
    if value < 0.01:
        return f"${value:.5f}"
    if value < 10:
        return f"${value:.4f}"
    return f"${value:,.2f}"


def bin_label(b: Bin) -> str:
    return "free" if b.hi == 0 else f"{usd(b.lo)}-{usd(b.hi)}"


def svg_histogram(title: str, bins: list[Bin]) -> str:
    """One histogram as an inline ``<svg>``: a bar per bin, its count above it, its cost
    range below."""
    e = html.escape
    plot_w, plot_h = _W - _PAD_L - 16, _H - _PAD_B - _PAD_T
    top = max((b.count for b in bins), default=0) or 1
    width = plot_w / max(len(bins), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}" '
        f'viewBox="0 0 {_W} {_H}" role="img" aria-label="{e(title)}">',
        f'<text x="{_PAD_L}" y="16" font-weight="bold">{e(title)}</text>',
        f'<line x1="{_PAD_L}" y1="{_PAD_T + plot_h}" x2="{_PAD_L + plot_w}" '
        f'y2="{_PAD_T + plot_h}" stroke="#333"/>',
    ]
    for i, b in enumerate(bins):
        h = plot_h * b.count / top
        x = _PAD_L + i * width
        y = _PAD_T + plot_h - h
        parts.append(
            f'<rect x="{x + 2:.1f}" y="{y:.1f}" width="{max(width - 4, 1):.1f}" '
            f'height="{h:.1f}" fill="#4c78a8"><title>{e(bin_label(b))}: {b.count}</title></rect>'
        )
        parts.append(
            f'<text x="{x + width / 2:.1f}" y="{y - 3:.1f}" font-size="10" '
            f'text-anchor="middle">{b.count}</text>'
        )
        lx, ly = x + width / 2, _PAD_T + plot_h + 10
        parts.append(
            f'<text x="{lx:.1f}" y="{ly:.1f}" font-size="9" text-anchor="end" '
            f'transform="rotate(-35 {lx:.1f} {ly:.1f})">{e(bin_label(b))}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts)


def _stats_table(distributions: dict[str, dict[str, Any]]) -> str:
    rows = [
        "<tr><th></th><th>count</th><th>mean</th><th>p50</th><th>p90</th><th>p99</th>"
        "<th>max</th></tr>"
    ]
    for name, d in distributions.items():
        cells = "".join(f"<td>{usd(d[k])}</td>" for k in ("mean", "p50", "p90", "p99", "max"))
        rows.append(f"<tr><th>{html.escape(name)}</th><td>{d['count']}</td>{cells}</tr>")
    return "<table>" + "".join(rows) + "</table>"


def write_html(path: Path, data: dict[str, Any]) -> None:
    """``data`` is :func:`agentqueue.cli.report.report`'s: histograms, numbers, projection."""
    dists: dict[str, dict[str, Any]] = data["distribution"]
    band = data["projection"]["daily_cost_band_usd"]
    svgs = "\n".join(
        svg_histogram(f"Cost per {name} ({d['count']})", [Bin(**b) for b in d["bins"]])
        for name, d in dists.items()
    )
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>agentqueue cost distribution</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}</style></head>
<body>
<h1>Cost distribution</h1>
<p>{data["sessions_observed"]} sessions observed; prices as of
{html.escape(", ".join(data["prices_as_of"]) or "unknown")}.</p>
{_stats_table(dists)}
{svgs}
<h2>Projection</h2>
<p>At {band["sessions_per_day"]:,} sessions a day: expected {usd(band["expected"])} a day;
p50 day {usd(band["p50"])}, p90 day {usd(band["p90"])}, p99 day {usd(band["p99"])}
(bootstrap over the measured per-session costs, {band["resamples"]} resamples).</p>
</body></html>
"""
    path.write_text(page, encoding="utf-8")


def write_png(path: Path, data: dict[str, Any]) -> None:
    try:  # optional, untyped here: imported by name
        importlib.import_module("matplotlib").use("Agg")
        plt: Any = importlib.import_module("matplotlib.pyplot")
    except ImportError as exc:
        raise ChartError(MATPLOTLIB_MISSING) from exc
    with plt.rc_context({"text.parse_math": False}):  # "$" is a dollar here, not math
        _draw_png(plt, path, data)


def _draw_png(plt: Any, path: Path, data: dict[str, Any]) -> None:
    dists: dict[str, dict[str, Any]] = data["distribution"]
    band = data["projection"]["daily_cost_band_usd"]
    fig, axes = plt.subplots(len(dists), 1, figsize=(8, 3.2 * len(dists)), squeeze=False)
    for ax, (name, d) in zip(axes[:, 0], dists.items(), strict=True):
        bins = [Bin(**b) for b in d["bins"]]
        ax.bar(range(len(bins)), [b.count for b in bins], color="#4c78a8")
        ax.set_xticks(range(len(bins)), [bin_label(b) for b in bins], rotation=35, ha="right")
        ax.set_title(
            f"Cost per {name} ({d['count']}): p50 {usd(d['p50'])}, p90 {usd(d['p90'])}, "
            f"p99 {usd(d['p99'])}, max {usd(d['max'])}",
            fontsize=9,
        )
        ax.set_ylabel("count")
    fig.suptitle(
        f"{band['sessions_per_day']:,} sessions/day: expected {usd(band['expected'])}, "
        f"p90 {usd(band['p90'])}, p99 {usd(band['p99'])}",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_chart(path: Path, data: dict[str, Any]) -> str:
    """Write the chart ``path``'s extension names; returns what was written."""
    suffix = path.suffix.lower()
    if suffix in (".html", ".htm"):
        write_html(path, data)
        return "HTML (inline SVG)"
    if suffix == ".png":
        write_png(path, data)
        return "PNG (matplotlib)"
    raise ChartError(f"--chart writes .html or .png, not {path.suffix or 'no extension'!r}")


__all__ = ["ChartError", "bin_label", "svg_histogram", "usd", "write_chart"]

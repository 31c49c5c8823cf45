"""Bar charts as inline SVG, drawn on the server.

Why not a charting library: the console shows a handful of bars per chart (days, models,
tenants), redrawn when the page is; an SVG string is a few lines, needs no JavaScript,
no vendored file and nothing to update for security fixes, and it prints, scales and
screenshots as the page does. Labels are escaped (tenant and model names are data).
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

from markupsafe import Markup

WIDTH = 640
ROW = 22
LABEL_W = 190
VALUE_W = 90


def bars(values: Mapping[str, float], *, unit: str = "$", title: str = "") -> Markup:
    """A horizontal bar per entry, in the order given, with its value written beside."""
    if not values:
        return Markup('<p class="empty">no data</p>')
    top = max(values.values()) or 1.0
    span = WIDTH - LABEL_W - VALUE_W
    height = ROW * len(values) + 6
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" aria-label="{escape(title)}">'
    ]
    for i, (label, value) in enumerate(values.items()):
        y = 3 + i * ROW
        width = max(0.0, value / top * span)
        text = f"{unit}{value:,.4f}" if unit == "$" else f"{value:,.0f}{unit}"
        parts.append(
            f'<text x="{LABEL_W - 6}" y="{y + 15}" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{LABEL_W}" y="{y + 3}" width="{width:.1f}" height="{ROW - 6}">'
            f"<title>{escape(label)}: {escape(text)}</title></rect>"
            f'<text x="{LABEL_W + width + 6:.1f}" y="{y + 15}">{escape(text)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated value is escaped above

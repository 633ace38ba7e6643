"""Server-side SVG charts for staff pages (stats, taskforce): no JavaScript, no libraries, the
same bytes for the same figures.

Every chart is an image with an accessible name (role="img", aria-label, <title>) and a
description (<desc>, aria-describedby); the page puts the figures in tables next to it.
Everything shown comes from data (host names are whatever a trace found), so every text and
attribute value is escaped, and control characters (not allowed in XML) are dropped. Styling
is by presentation attributes only: the site's CSP forbids inline styles.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

FONT = "system-ui, -apple-system, 'Segoe UI', sans-serif"
INK, MUTED, GRID = "#1b1b1f", "#55575e", "#d0d2d6"
# Both at least 4.5:1 against white, and told apart by the legend and the value labels too.
COLOURS = ("#0b5cad", "#a34f00")
LABEL_SIZE, SMALL_SIZE = 14, 13  # px in the 720-wide viewBox; scaled with the page
MAX_LABEL = 28
WIDTH = 720

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ID = re.compile(r"[a-z][a-z0-9-]{0,40}")


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]


def esc(text: str) -> str:
    """Text safe in SVG content and in double-quoted attributes, and well-formed XML."""
    return html.escape(_CONTROL.sub("", text), quote=True)


def _n(value: float) -> str:
    return f"{value:.1f}"


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…"


def nice_max(value: float) -> float:
    """The smallest 1, 2 or 5 × 10^k at or above value (1 for nothing), for a round axis."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)


def _ticks(top: float) -> list[float]:
    return [top * i / 5 for i in range(6)]


def _tick_label(value: float) -> str:
    return f"{value:g}"


def _open(chart_id: str, title: str, desc: str, height: float) -> list[str]:
    if not _ID.fullmatch(chart_id):
        raise ValueError(f"chart id must match {_ID.pattern}")
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{chart_id}" role="img" '
        f'aria-label="{esc(title)}" aria-describedby="{chart_id}-desc" '
        f'viewBox="0 0 {WIDTH} {_n(height)}" width="{WIDTH}" height="{_n(height)}" '
        f'font-family="{esc(FONT)}" font-size="{LABEL_SIZE}" fill="{INK}">',
        f'<title id="{chart_id}-title">{esc(title)}</title>',
        f'<desc id="{chart_id}-desc">{esc(desc)}</desc>',
        f'<rect width="{WIDTH}" height="{_n(height)}" fill="#ffffff"/>',
    ]


def _empty(chart_id: str, title: str, desc: str, empty_text: str) -> str:
    parts = _open(chart_id, title, desc, 80)
    parts.append(f'<text x="{WIDTH // 2}" y="45" text-anchor="middle">{esc(empty_text)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def _legend(series: Sequence[Series], x: float, y: float) -> list[str]:
    parts = []
    for index, item in enumerate(series):
        colour = COLOURS[index % len(COLOURS)]
        parts.append(f'<rect x="{_n(x)}" y="{_n(y - 11)}" width="14" height="14" fill="{colour}"/>')
        parts.append(f'<text x="{_n(x + 20)}" y="{_n(y + 1)}">{esc(item.name)}</text>')
        x += 30 + 8 * len(item.name)  # rough text width; the legend never needs to be exact
    return parts


def bar_chart(
    *,
    chart_id: str,
    title: str,
    desc: str,
    labels: Sequence[str],
    series: Sequence[Series],
    unit: str,
    axis_label: str,
    empty_text: str,
    digits: int = 1,
) -> str:
    """Horizontal grouped bars: one row per label, one bar per series, value at its end
    (`digits` after the point; 0 for counts)."""
    if not any(v is not None for s in series for v in s.values):
        return _empty(chart_id, title, desc, empty_text)
    label_w, value_w, top_pad, bottom_pad = 220, 80, 40, 50
    bar_h, bar_gap, row_pad = 16, 2, 14
    row_h = len(series) * bar_h + (len(series) - 1) * bar_gap + row_pad
    plot_w = WIDTH - label_w - value_w
    height = top_pad + len(labels) * row_h + bottom_pad
    top = nice_max(max(v for s in series for v in s.values if v is not None))
    parts = _open(chart_id, title, desc, height)
    parts += _legend(series, label_w, 22)
    plot_bottom = top_pad + len(labels) * row_h
    for tick in _ticks(top):
        x = label_w + plot_w * tick / top
        parts.append(
            f'<line x1="{_n(x)}" y1="{top_pad - 6}" x2="{_n(x)}" y2="{plot_bottom}" '
            f'stroke="{GRID}" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{_n(x)}" y="{plot_bottom + 18}" text-anchor="middle" '
            f'font-size="{SMALL_SIZE}" fill="{MUTED}">{_tick_label(tick)}</text>'
        )
    parts.append(
        f'<text x="{label_w + plot_w // 2}" y="{plot_bottom + 40}" text-anchor="middle" '
        f'fill="{MUTED}">{esc(axis_label)}</text>'
    )
    for row, label in enumerate(labels):
        y0 = top_pad + row * row_h + row_pad / 2
        centre = y0 + (row_h - row_pad) / 2
        parts.append("<g>")
        parts.append(f"<title>{esc(label)}</title>")  # the full name where it is cut short
        parts.append(
            f'<text x="{label_w - 8}" y="{_n(centre + 5)}" text-anchor="end">'
            f"{esc(_short(label))}</text>"
        )
        for index, item in enumerate(series):
            value = item.values[row] if row < len(item.values) else None
            y = y0 + index * (bar_h + bar_gap)
            text_x: float
            if value is None:
                text_x = label_w + 4
                text = "–"
            else:
                bar = max(plot_w * value / top, 1.0)  # a zero still shows as a sliver
                parts.append(
                    f'<rect x="{label_w}" y="{_n(y)}" width="{_n(bar)}" height="{bar_h}" '
                    f'fill="{COLOURS[index % len(COLOURS)]}"/>'
                )
                text_x = label_w + bar + 4
                text = f"{value:.{digits}f} {unit}".rstrip()
            parts.append(
                f'<text x="{_n(text_x)}" y="{_n(y + bar_h - 3)}" font-size="{SMALL_SIZE}">'
                f"{esc(text)}</text>"
            )
        parts.append("</g>")
    parts.append(
        f'<line x1="{label_w}" y1="{top_pad - 6}" x2="{label_w}" y2="{plot_bottom}" '
        f'stroke="{INK}" stroke-width="1"/>'
    )
    parts.append("</svg>")
    return "\n".join(parts)


@dataclass(frozen=True)
class MonthlyText:
    """The words of the monthly chart, translated by the caller."""

    title: str
    desc: str
    hours_label: str
    share_label: str
    empty_text: str


def monthly_chart(
    *,
    chart_id: str,
    text: MonthlyText,
    months: Sequence[str],
    median_hours: Sequence[float | None],
    share: Sequence[float | None],
) -> str:
    """Two panels over the same months: median hours to removal as bars, and the share
    removed within 24 h of notice (0-100 %) as a line with points."""
    if not months or not any(v is not None for v in (*median_hours, *share)):
        return _empty(chart_id, text.title, text.desc, text.empty_text)
    left, right, panel_h, gap = 64, 24, 150, 70
    plot_w = WIDTH - left - right
    first_top, second_top = 36, 36 + panel_h + gap
    height = second_top + panel_h + 46
    step = plot_w / len(months)
    every = math.ceil(len(months) / 12)  # at most a dozen month labels, so they never overlap
    parts = _open(chart_id, text.title, text.desc, height)

    def axis(panel_top: float, top: float, label: str, suffix: str) -> None:
        bottom = panel_top + panel_h
        parts.append(f'<text x="{left}" y="{_n(panel_top - 14)}">{esc(label)}</text>')
        for tick in _ticks(top):
            y = bottom - panel_h * tick / top
            parts.append(
                f'<line x1="{left}" y1="{_n(y)}" x2="{WIDTH - right}" y2="{_n(y)}" '
                f'stroke="{GRID}" stroke-width="1"/>'
            )
            parts.append(
                f'<text x="{left - 6}" y="{_n(y + 4)}" text-anchor="end" '
                f'font-size="{SMALL_SIZE}" fill="{MUTED}">{_tick_label(tick)}{suffix}</text>'
            )
        for index, month in enumerate(months):
            if index % every == 0:
                parts.append(
                    f'<text x="{_n(left + step * (index + 0.5))}" y="{_n(bottom + 18)}" '
                    f'text-anchor="middle" font-size="{SMALL_SIZE}" fill="{MUTED}">'
                    f"{esc(month)}</text>"
                )

    hours_top = nice_max(max((v for v in median_hours if v is not None), default=0.0))
    axis(first_top, hours_top, text.hours_label, "")
    bar_w = max(step * 0.6, 1.0)
    for index, value in enumerate(median_hours):
        if value is None:
            continue
        bar_h = panel_h * value / hours_top
        x = left + step * index + (step - bar_w) / 2
        parts.append(
            f'<rect x="{_n(x)}" y="{_n(first_top + panel_h - bar_h)}" width="{_n(bar_w)}" '
            f'height="{_n(bar_h)}" fill="{COLOURS[0]}"/>'
        )

    axis(second_top, 100.0, text.share_label, "%")
    points: list[tuple[float, float] | None] = []
    for index, value in enumerate(share):
        if value is None:
            points.append(None)
            continue
        points.append((left + step * (index + 0.5), second_top + panel_h * (1 - value)))
    segment: list[str] = []
    for point in [*points, None]:  # a month with no figure breaks the line
        if point is None:
            if len(segment) > 1:
                parts.append(
                    f'<polyline points="{" ".join(segment)}" fill="none" '
                    f'stroke="{COLOURS[1]}" stroke-width="2.5"/>'
                )
            segment = []
            continue
        segment.append(f"{_n(point[0])},{_n(point[1])}")
    for point in points:
        if point is not None:
            parts.append(
                f'<circle cx="{_n(point[0])}" cy="{_n(point[1])}" r="4" fill="{COLOURS[1]}"/>'
            )
    parts.append("</svg>")
    return "\n".join(parts)

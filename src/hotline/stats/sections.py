"""The published figures laid out for reading: per figure, its title, its cells labelled in the
page's language for the year and the year before, and a chart (an accessible server-drawn
SVG, hotline.web.charts) for each breakdown. The public page and the annual report share it."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from hotline.stats import figures, labels, published
from hotline.stats.cache import Cell
from hotline.web import charts
from hotline.web.i18n import gettext_ as _

CHART_ROWS = 12


def chart(name: str, title: str, year: int, rows: list[dict[str, Any]]) -> Markup:
    shown = [r for r in rows if r["key"] != "total"][:CHART_ROWS]
    return Markup(  # noqa: S704 - charts.esc escapes every text and attribute value
        charts.bar_chart(
            chart_id=f"chart-{name.replace('_', '-')}",
            title=title,
            desc=_(
                "Bars for %(year)s and %(previous)s; suppressed counts have no bar. The table "
                "gives every figure."
            )
            % {"year": year, "previous": year - 1},
            labels=[str(r["label"]) for r in shown],
            series=[
                charts.Series(str(year), [r["now"] for r in shown]),
                charts.Series(str(year - 1), [r["before"] for r in shown]),
            ],
            unit="",
            axis_label=_("Count"),
            empty_text=_("Nothing to show for these years."),
            digits=0,
        )
    )


def build(page: published.YearPage, kinds: dict[str, str]) -> list[dict[str, Any]]:
    threshold = page.state.threshold
    now, before = page.figures.get(page.year, {}), page.figures.get(page.previous, {})
    titles = labels.titles()
    sections: list[dict[str, Any]] = []
    for figure in figures.FIGURES:
        cells: dict[str, list[Cell | None]] = {}
        for index, found in enumerate((now.get(figure.name, []), before.get(figure.name, []))):
            for cell in found:
                cells.setdefault(cell.key, [None, None])[index] = cell
        rows: list[dict[str, Any]] = []
        for key, (a, b) in cells.items():
            rows.append({
                "key": key,
                "label": labels.cell_label(figure.name, key, kinds),
                "now": a.value if a else None,
                "before": b.value if b else None,
                "now_text": labels.value_text(figure.name, key, a.value, a.suppressed, threshold)
                if a else "—",
                "before_text": labels.value_text(figure.name, key, b.value, b.suppressed,
                                                 threshold) if b else "—",
            })  # fmt: skip
        drawn = (
            chart(figure.name, titles[figure.name], page.year, rows)
            if figure.kind == "breakdown"
            else None
        )
        sections.append({"name": figure.name, "title": titles[figure.name], "rows": rows,
                         "chart": drawn})  # fmt: skip
    return sections

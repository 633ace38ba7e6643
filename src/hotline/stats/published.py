"""The published figures as the public page and the open data read them from the cache
(stats.cache): the year asked and the year before it, one figure over a range of years, and
the data dictionary. Validation of what a visitor may type (year, range, format, figure) is
here, so the page, the open data and the annual report refuse alike."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.errors import N_, FieldError, InvalidInput, NotFound
from hotline.stats import cache, figures
from hotline.stats.tables import StatsFigureRow

FORMATS = ("csv", "json")
FIRST_YEAR, LAST_YEAR = 2000, 2100
MAX_RANGE = 50
# The open data's columns, with their meaning (the data dictionary gives these too).
COLUMNS = (
    ("year", "Calendar year (UTC) the counting rule places the item in."),
    ("figure", "The figure's stable name (see the figures below)."),
    ("key", "The cell within the figure: a category, a country code, 'total', ..."),
    ("value", "The number; empty when suppressed or not defined."),
    (
        "suppressed",
        "true when the count is below the threshold, or hidden so that no "
        "suppressed cell can be worked out from the total.",
    ),
)


@dataclass(frozen=True)
class YearPage:
    year: int
    previous: int
    state: cache.CacheState
    figures: dict[int, dict[str, list[cache.Cell]]]  # the year and the year before


def parse_year(text: str, field: str = "year") -> int:
    text = (text or "").strip()
    if not (text.isdigit() and len(text) == 4 and FIRST_YEAR <= int(text) <= LAST_YEAR):
        raise InvalidInput(
            N_("the year has problems"),
            fields=[FieldError(field, N_("a year as four digits, e.g. 2026"))],
        )
    return int(text)


def parse_range(start: str | None, end: str | None, years: list[int]) -> tuple[int, int]:
    """From and to years, both included; default: every year with figures."""
    errors: list[FieldError] = []
    low = high = None
    try:
        low = parse_year(start, "from") if start else (years[0] if years else None)
    except InvalidInput as exc:
        errors += exc.fields
    try:
        high = parse_year(end, "to") if end else (years[-1] if years else None)
    except InvalidInput as exc:
        errors += exc.fields
    if not errors and low is not None and high is not None:
        if low > high:
            errors.append(FieldError("from", N_("the first year must not be after the last")))
        elif high - low >= MAX_RANGE:
            errors.append(
                FieldError("to", N_("at most %(max_range)s years at once", max_range=MAX_RANGE))
            )
    if errors:
        raise InvalidInput(N_("the range of years has problems"), fields=errors)
    if low is None or high is None:
        raise NotFound(N_("no figures have been published yet"))
    return low, high


def parse_file(name: str) -> tuple[str, str]:
    """'actioned_by_category.csv' -> (figure, format); NotFound names what exists."""
    stem, dot, fmt = name.rpartition(".")
    if not dot or fmt not in FORMATS:
        raise NotFound(
            N_("unknown format; the open data comes as one of %(items)s", items=", ".join(FORMATS))
        )
    if stem != "dictionary" and stem not in figures.BY_NAME:
        raise NotFound(N_("no figure by that name; the data dictionary lists them"))
    return stem, fmt


def year_page(session: Session, year: int) -> YearPage:
    state = cache.state(session)
    if year not in state.years:
        raise NotFound(N_("no figures are published for %(year)s", year=year))
    found = cache.year_figures(session, [year, year - 1])
    return YearPage(year, year - 1, state, found)


def _rows(session: Session, figure: str, low: int, high: int) -> list[StatsFigureRow]:
    return list(
        session.execute(
            select(StatsFigureRow)
            .where(StatsFigureRow.figure == figure, StatsFigureRow.year.between(low, high))
            .order_by(StatsFigureRow.year, StatsFigureRow.position)
        ).scalars()
    )


def _stamp(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def figure_file(
    session: Session, figure: str, fmt: str, start: str | None, end: str | None
) -> tuple[str, str]:
    """(content, media type) of one figure over a range of years."""
    state = cache.state(session)
    low, high = parse_range(start, end, state.years)
    rows = _rows(session, figure, low, high)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([c for c, _d in COLUMNS])
        for r in rows:
            value = "" if r.value is None else _number(r.value)
            writer.writerow([r.year, r.figure, r.key, value, "true" if r.suppressed else "false"])
        return out.getvalue(), "text/csv; charset=utf-8"
    body: dict[str, Any] = {
        "figure": figure,
        "description": figures.BY_NAME[figure].description,
        "from": low,
        "to": high,
        "suppression_threshold": state.threshold,
        "refreshed_at": _stamp(state.refreshed_at),
        "rows": [
            {"year": r.year, "key": r.key, "value": r.value, "suppressed": r.suppressed}
            for r in rows
        ],
    }
    return json.dumps(body, indent=1), "application/json"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.4f}"


def dictionary(fmt: str, threshold: int) -> tuple[str, str]:
    """The data dictionary: the columns, and every figure with its kind and meaning."""
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["name", "type", "description"])
        for name, meaning in COLUMNS:
            writer.writerow([name, "column", meaning])
        for f in figures.FIGURES:
            writer.writerow([f.name, f"figure ({f.kind})", f.description])
        return out.getvalue(), "text/csv; charset=utf-8"
    body = {
        "columns": [{"name": n, "description": d} for n, d in COLUMNS],
        "figures": [
            {
                "name": f.name,
                "kind": f.kind,
                "description": f.description,
                "address": f"/api/v1/statistics/{f.name}.csv",
            }
            for f in figures.FIGURES
        ],
        "suppression_threshold": threshold,
        "methodology": "/statistics#methodology",
    }
    return json.dumps(body, indent=1), "application/json"

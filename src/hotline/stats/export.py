"""CSV files of the figures: one row per URL, and the group figures. Shared by the pages and
the CLI so both write the same columns.

Cells are written by the csv module (RFC 4180 quoting, CRLF line ends). A cell that a
spreadsheet would read as a formula (starting with =, +, -, @, or a tab or carriage return)
gets a leading single quote: URLs and host names are data from the outside world."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime

from hotline.stats.removal import Clock, GroupFigures
from hotline.web.listing import safe_cell  # the one formula-safe cell of every staff CSV

URL_COLUMNS = (
    "case_reference",
    "url",
    "host",
    "country",
    "category",
    "route",
    "first_reported_at",
    "first_notice_at",
    "removed_at",
    "hours_report_to_removal",
    "hours_notice_to_removal",
)
GROUP_COLUMNS = (
    "group_by",
    "group",
    "urls",
    "removed",
    "open",
    "median_hours_report_to_removal",
    "p90_hours_report_to_removal",
    "median_hours_notice_to_removal",
    "p90_hours_notice_to_removal",
    "notified",
    "notified_under_24h_ago_still_open",
    "removed_within_24h_of_notice",
    "share_removed_within_24h_of_notice",
)


def _when(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _num(value: float | None, places: int = 2) -> str:
    return "" if value is None else f"{value:.{places}f}"


def _write(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)  # default dialect: minimal quoting, "\r\n" line ends
    writer.writerow(header)
    writer.writerows([safe_cell(cell) for cell in row] for row in rows)
    return out.getvalue()


def clocks_csv(clocks: Iterable[Clock]) -> str:
    return _write(
        URL_COLUMNS,
        (
            (
                c.reference,
                c.url,
                c.host or "",
                c.country or "",
                c.category or "",
                c.route or "",
                _when(c.first_reported_at),
                _when(c.first_notice_at),
                _when(c.removed_at),
                _num(c.hours_report_to_removal),
                _num(c.hours_notice_to_removal),
            )
            for c in clocks
        ),
    )


def groups_csv(groups: Iterable[GroupFigures]) -> str:
    return _write(
        GROUP_COLUMNS,
        (
            (
                g.by.value,
                g.key or "",
                str(g.count),
                str(g.removed),
                str(g.open),
                _num(g.median_report_h),
                _num(g.p90_report_h),
                _num(g.median_notice_h),
                _num(g.p90_notice_h),
                str(g.notified),
                str(g.awaiting_24h),
                str(g.within_24h),
                _num(g.share_24h, 4),
            )
            for g in groups
        ),
    )

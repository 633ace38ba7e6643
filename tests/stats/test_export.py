"""CSV files: proper quoting, and no cell a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io

import pytest

from hotline.stats import export
from hotline.stats.removal import Clock, GroupBy, summarise
from tests.stats.helpers import at, clock


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+cmd", "'+cmd"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("http://site.example/=x", "http://site.example/=x"),
        ("", ""),
        ("12.50", "12.50"),
    ],
)
def test_safe_cell(cell: str, expected: str) -> None:
    assert export.safe_cell(cell) == expected


def test_clocks_csv_quotes_and_guards() -> None:
    hostile = Clock(
        case_id=1,
        reference="TD-1",
        url='http://site.example/a,"b"\nc',
        host='=HYPERLINK("http://evil.example")',
        country="GB",
        category="A",
        route="notice",
        first_reported_at=at("2024-01-01 00:00"),
        first_notice_at=at("2024-01-01 01:30"),
        removed_at=at("2024-01-01 12:00"),
    )
    text = export.clocks_csv([hostile, clock(2, "2024-01-02 00:00")])
    assert text.endswith("\r\n")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == list(export.URL_COLUMNS)
    assert rows[1] == [
        "TD-1",
        'http://site.example/a,"b"\nc',
        '\'=HYPERLINK("http://evil.example")',
        "GB",
        "A",
        "notice",
        "2024-01-01T00:00:00Z",
        "2024-01-01T01:30:00Z",
        "2024-01-01T12:00:00Z",
        "12.00",
        "10.50",
    ]
    assert rows[2][6:] == ["2024-01-02T00:00:00Z", "", "", "", ""]


def test_groups_csv() -> None:
    clocks = [
        clock(1, "2024-01-01 00:00", "2024-01-01 02:00", "2024-01-01 12:00", host="-h.example"),
        clock(2, "2024-01-02 00:00", "2024-01-02 06:00", None, host=None),
    ]
    summary = summarise(clocks, at("2024-02-01 00:00"))
    text = export.groups_csv([summary.overall, *summary.groups[GroupBy.host]])
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["group_by"] for r in rows] == ["all", "host", "host"]
    overall, first, unknown = rows
    assert overall["group"] == "" and overall["urls"] == "2" and overall["open"] == "1"
    assert overall["median_hours_report_to_removal"] == "12.00"
    assert overall["share_removed_within_24h_of_notice"] == "0.5000"
    assert first["group"] == "'-h.example"  # a leading minus is a formula to a spreadsheet
    assert unknown["group"] == "" and unknown["median_hours_report_to_removal"] == ""

"""Loading clocks from the tables in one query, and the date-range filter's validation."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import event

from hotline.db.engine import Database
from hotline.errors import InvalidInput
from hotline.stats.store import DateRange, load_clocks, parse_range
from tests.stats.helpers import add_case, at

TODAY = date(2024, 6, 15)


def fields(exc: pytest.ExceptionInfo[InvalidInput]) -> dict[str, str]:
    return {f.field: f.message for f in exc.value.fields}


def test_defaults_to_the_year_to_today() -> None:
    assert parse_range(None, None, TODAY) == DateRange(date(2023, 6, 17), TODAY)
    assert parse_range("", "  ", TODAY) == DateRange(date(2023, 6, 17), TODAY)
    assert parse_range(None, "2024-01-31", TODAY) == DateRange(date(2023, 2, 1), date(2024, 1, 31))
    assert parse_range("2024-01-01", None, TODAY) == DateRange(date(2024, 1, 1), TODAY)


def test_five_years_is_the_most() -> None:
    assert parse_range("2019-06-15", "2024-06-15", TODAY).start == date(2019, 6, 15)
    with pytest.raises(InvalidInput) as exc:
        parse_range("2019-06-14", "2024-06-15", TODAY)
    assert "to" in fields(exc) and "5 years" in fields(exc)["to"]
    # 29 February plus five years is 28 February
    assert parse_range("2020-02-29", "2025-02-28", TODAY).end == date(2025, 2, 28)
    with pytest.raises(InvalidInput):
        parse_range("2020-02-29", "2025-03-01", TODAY)


@pytest.mark.parametrize(
    ("start", "end", "bad"),
    [
        ("2024-13-01", "2024-12-31", {"from"}),
        ("yesterday", None, {"from"}),
        ("20240101", "2024-02-01", {"from"}),  # ISO basic form: one plain shape only
        ("2024-01-01", "2024-02-30", {"to"}),
        ("2024-01-01T00:00", None, {"from"}),
        ("x", "y", {"from", "to"}),
        ("2024-03-01", "2024-02-01", {"from"}),  # start after end
    ],
)
def test_bad_ranges_name_their_fields(start: str, end: str | None, bad: set[str]) -> None:
    with pytest.raises(InvalidInput) as exc:
        parse_range(start, end, TODAY)
    assert exc.value.status == 422
    assert set(fields(exc)) == bad


def test_bounds_include_the_whole_last_day() -> None:
    low, high = DateRange(date(2024, 1, 1), date(2024, 1, 31)).bounds()
    assert low == at("2024-01-01 00:00") and high == at("2024-02-01 00:00")


def test_load_clocks_in_one_query_within_the_range(db: Database) -> None:
    add_case(db, "TD-BEFORE", reported=at("2023-12-31 23:59"))
    first = add_case(
        db,
        "TD-FIRST",
        reported=at("2024-01-01 00:00"),
        notice=at("2024-01-01 03:00"),
        removed=at("2024-01-02 00:00"),
        host="h1.example",
        country="NL",
        category="B",
        route="notice",
        url="http://site.example/a?b=1",
    )
    add_case(db, "TD-LAST", reported=at("2024-01-31 23:59"), host=None, country=None, category=None)
    add_case(db, "TD-AFTER", reported=at("2024-02-01 00:00"))
    statements: list[str] = []
    engine = db.reader

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", count)
    try:
        with db.read() as session:
            clocks = load_clocks(session, DateRange(date(2024, 1, 1), date(2024, 1, 31)))
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1
    assert [c.reference for c in clocks] == ["TD-FIRST", "TD-LAST"]
    got = clocks[0]
    assert got.case_id == first and got.url == "http://site.example/a?b=1"
    assert (got.host, got.country, got.category, got.route) == ("h1.example", "NL", "B", "notice")
    assert got.first_reported_at == at("2024-01-01 00:00")
    assert got.first_notice_at == at("2024-01-01 03:00")
    assert got.removed_at == at("2024-01-02 00:00")
    assert got.hours_report_to_removal == 24.0 and got.hours_notice_to_removal == 21.0
    assert clocks[1].host is None and clocks[1].removed_at is None

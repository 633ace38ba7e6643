"""Loading takedown clocks for the figures: one query joining each case to its URL, filtered
by the date of first report. Also the validation of that date range, shared by the page, the
CSV exports and the CLI."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.errors import N_, FieldError, InvalidInput
from hotline.intake.tables import ReportedUrlRow
from hotline.stats.removal import Clock
from hotline.takedown.tables import TakedownCaseRow

MAX_YEARS = 5
DEFAULT_DAYS = 365


@dataclass(frozen=True)
class DateRange:
    """First-report dates, both ends included (UTC days)."""

    start: date
    end: date

    def bounds(self) -> tuple[datetime, datetime]:
        """[start 00:00, day after end 00:00) in UTC, for a half-open query."""
        low = datetime.combine(self.start, time(), tzinfo=UTC)
        high = datetime.combine(self.end + timedelta(days=1), time(), tzinfo=UTC)
        return low, high


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year + years, day=28)


def _parse(field: str, text: str, errors: list[FieldError]) -> date | None:
    try:
        # fromisoformat alone also takes forms like 20240131; one plain shape is clearer.
        if len(text) != 10:
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        errors.append(FieldError(field, N_("enter a date as YYYY-MM-DD, e.g. 2024-01-31")))
        return None


def parse_range(start: str | None, end: str | None, today: date) -> DateRange:
    """The range from optional ISO dates: `end` defaults to today and `start` to a year before
    `end`. Raises InvalidInput (fields 'from' and 'to') for a bad date, start after end, or a
    range longer than MAX_YEARS years."""
    errors: list[FieldError] = []
    start_text, end_text = (start or "").strip(), (end or "").strip()
    end_day = _parse("to", end_text, errors) if end_text else today
    start_day = _parse("from", start_text, errors) if start_text else None
    if errors or end_day is None:  # end_day is None only when it failed to parse
        raise InvalidInput(N_("the date range has problems"), fields=errors)
    if start_day is None:
        start_day = end_day - timedelta(days=DEFAULT_DAYS - 1)
    if start_day > end_day:
        errors.append(FieldError("from", N_("the start date must not be after the end date")))
    elif end_day > _add_years(start_day, MAX_YEARS):
        errors.append(
            FieldError(
                "to", N_("the range may cover at most %(max_years)s years", max_years=MAX_YEARS)
            )
        )
    if errors:
        raise InvalidInput(N_("the date range has problems"), fields=errors)
    return DateRange(start_day, end_day)


def load_clocks(session: Session, dates: DateRange) -> list[Clock]:
    """Every takedown case first reported in the range, oldest first, with its URL."""
    low, high = dates.bounds()
    case, url = TakedownCaseRow, ReportedUrlRow
    rows = session.execute(
        select(
            case.id,
            case.reference,
            url.normalized_url,
            case.host_name,
            case.country,
            case.category,
            case.route,
            case.first_reported_at,
            case.first_notice_at,
            case.removed_at,
        )
        .join(url, url.id == case.url_id)
        .where(case.first_reported_at >= low, case.first_reported_at < high)
        .order_by(case.first_reported_at, case.id)
    )
    return [
        Clock(
            case_id=row.id,
            reference=row.reference,
            url=row.normalized_url,
            host=row.host_name,
            country=row.country,
            category=row.category,
            route=row.route,
            first_reported_at=row.first_reported_at,
            first_notice_at=row.first_notice_at,
            removed_at=row.removed_at,
        )
        for row in rows
    ]

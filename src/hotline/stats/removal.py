"""Time-to-removal figures from per-URL clocks. Pure: no ORM, no HTTP.

Each takedown case carries three clocks: first reported, first notice (or forward) and removed.
From them come, per URL, the hours from first report to removal and from first notice to
removal; and per group (all, host, country, category, month of first report):

- count, removed count;
- median and p90 hours, report to removal and notice to removal, over *removed* URLs only
  (an open case has no removal time yet, so it cannot be placed in the distribution);
- the share removed within 24 hours of first notice, over notified URLs.

Percentiles: the median is the middle value of the sorted sample (the mean of the two middle
values when the count is even), as `statistics.median`. p90 is the **nearest-rank** value: the
value at 1-based rank ceil(0.9 × n) of the sorted sample, so it is always an observed time
(n = 10 gives the 9th value, n = 11 the 10th, n = 1 the only one).

The 24 h share: a notified URL counts in the denominator once its outcome is known, that is
once it is removed (at any time) or 24 hours have passed since its first notice while it is
still open; open cases past 24 hours count as not removed within 24 h. A case notified less
than 24 hours before `now` and still open is not yet decided and is left out of both
numerator and denominator (counted in `awaiting_24h`), so a busy last day does not make the
share look worse than it is.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

WITHIN = timedelta(hours=24)


class GroupBy(StrEnum):
    all = "all"
    host = "host"
    country = "country"
    category = "category"
    month = "month"


@dataclass(frozen=True, slots=True)
class Clock:
    """One URL's takedown clocks (UTC-aware datetimes)."""

    case_id: int
    reference: str
    url: str
    host: str | None
    country: str | None
    category: str | None
    route: str | None
    first_reported_at: datetime
    first_notice_at: datetime | None
    removed_at: datetime | None

    @property
    def hours_report_to_removal(self) -> float | None:
        return _hours(self.first_reported_at, self.removed_at)

    @property
    def hours_notice_to_removal(self) -> float | None:
        if self.first_notice_at is None:
            return None
        return _hours(self.first_notice_at, self.removed_at)

    @property
    def month(self) -> str:
        return self.first_reported_at.strftime("%Y-%m")


def _hours(start: datetime, end: datetime | None) -> float | None:
    if end is None:
        return None
    # Clocks come from different sources (a re-check, a partner's status) and can disagree by
    # seconds; a removal never takes negative time.
    return max(0.0, (end - start).total_seconds() / 3600)


def median(values: Sequence[float]) -> float | None:
    """The middle value (mean of the two middle ones for an even count); None when empty."""
    return statistics.median(values) if values else None


def nearest_rank(values: Sequence[float], percent: float) -> float | None:
    """The nearest-rank percentile: the value at 1-based rank ceil(percent/100 × n) of the
    sorted values; None when empty."""
    if not values:
        return None
    if not 0 < percent <= 100:
        raise ValueError("percent must be in (0, 100]")
    ordered = sorted(values)
    # round() first so that 0.9 * 10 (= 9.000000000000002 in floats) gives rank 9, not 10.
    rank = math.ceil(round(percent / 100 * len(ordered), 9))
    return ordered[max(rank, 1) - 1]


@dataclass(frozen=True)
class GroupFigures:
    """The figures for one group. `key` is None for the 'all' group and for URLs whose host,
    country or category was not known when the case was opened."""

    by: GroupBy
    key: str | None
    count: int
    removed: int
    median_report_h: float | None
    p90_report_h: float | None
    median_notice_h: float | None
    p90_notice_h: float | None
    notified: int
    awaiting_24h: int  # notified < 24 h ago and still open: outcome not known yet
    within_24h: int

    @property
    def open(self) -> int:
        return self.count - self.removed

    @property
    def decided_24h(self) -> int:
        """Notified URLs whose 24-hour outcome is known: the share's denominator."""
        return self.notified - self.awaiting_24h

    @property
    def share_24h(self) -> float | None:
        """Removed within 24 h of first notice, of the notified whose outcome is known."""
        return self.within_24h / self.decided_24h if self.decided_24h else None


def figures(clocks: Iterable[Clock], now: datetime, by: GroupBy, key: str | None) -> GroupFigures:
    """The figures for one group of clocks."""
    report_hours: list[float] = []
    notice_hours: list[float] = []
    count = removed = notified = awaiting = within = 0
    for clock in clocks:
        count += 1
        to_removal = clock.hours_report_to_removal
        if to_removal is not None:
            removed += 1
            report_hours.append(to_removal)
        if clock.first_notice_at is None:
            continue
        notified += 1
        after_notice = clock.hours_notice_to_removal
        if after_notice is not None:
            notice_hours.append(after_notice)
            if after_notice <= WITHIN.total_seconds() / 3600:
                within += 1
        elif now - clock.first_notice_at < WITHIN:
            awaiting += 1
    return GroupFigures(
        by=by,
        key=key,
        count=count,
        removed=removed,
        median_report_h=median(report_hours),
        p90_report_h=nearest_rank(report_hours, 90),
        median_notice_h=median(notice_hours),
        p90_notice_h=nearest_rank(notice_hours, 90),
        notified=notified,
        awaiting_24h=awaiting,
        within_24h=within,
    )


_KEYS: dict[GroupBy, Callable[[Clock], str | None]] = {
    GroupBy.all: lambda c: None,
    GroupBy.host: lambda c: c.host,
    GroupBy.country: lambda c: c.country,
    GroupBy.category: lambda c: c.category,
    GroupBy.month: lambda c: c.month,
}


def grouped(clocks: Sequence[Clock], by: GroupBy, now: datetime) -> list[GroupFigures]:
    """Figures per group. Months and categories come in their natural order; hosts and
    countries by count, largest first (ties by name); the unknown group comes last."""
    if by is GroupBy.all:
        return [figures(clocks, now, by, None)]
    members: dict[str | None, list[Clock]] = defaultdict(list)
    for clock in clocks:
        members[_KEYS[by](clock)].append(clock)
    result = [figures(group, now, by, key) for key, group in members.items()]
    if by in (GroupBy.month, GroupBy.category):
        result.sort(key=lambda g: (g.key is None, g.key or ""))
    else:
        result.sort(key=lambda g: (g.key is None, -g.count, g.key or ""))
    return result


@dataclass(frozen=True)
class Summary:
    """Everything the page, the CSV and the CLI show for one date range."""

    overall: GroupFigures
    groups: dict[GroupBy, list[GroupFigures]]


def summarise(clocks: Sequence[Clock], now: datetime) -> Summary:
    return Summary(
        overall=figures(clocks, now, GroupBy.all, None),
        groups={by: grouped(clocks, by, now) for by in GroupBy if by is not GroupBy.all},
    )

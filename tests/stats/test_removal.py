"""The figures on hand-made clocks, checked by hand: medians, nearest-rank p90, the 24 h share
and what open cases count for."""

from __future__ import annotations

import pytest

from hotline.stats.removal import Clock, GroupBy, grouped, median, nearest_rank, summarise
from tests.stats.helpers import at, clock

NOW = at("2024-03-10 12:00")


def sample() -> list[Clock]:
    return [
        # report→removal 12 h, notice→removal 10 h: within 24 h
        clock(1, "2024-01-01 00:00", "2024-01-01 02:00", "2024-01-01 12:00", host="h1.example"),
        # 36 h and 30 h: not within 24 h
        clock(2, "2024-01-02 00:00", "2024-01-02 06:00", "2024-01-03 12:00", host="h1.example"),
        # 24 h and exactly 24 h: within (the bound is included)
        clock(
            3,
            "2024-01-05 00:00",
            "2024-01-05 00:00",
            "2024-01-06 00:00",
            host="h2.example",
            country="FR",
            category="B",
        ),
        # notified, still open weeks later: counts against the share, not in medians
        clock(
            4,
            "2024-02-01 00:00",
            "2024-02-01 01:00",
            None,
            host="h2.example",
            country="FR",
            category="C",
        ),
        # notified 6 h before NOW, still open: outcome not known yet
        clock(
            5, "2024-03-10 00:00", "2024-03-10 06:00", None, host=None, country=None, category=None
        ),
        # removed before any notice went: in report medians, not in the share
        clock(6, "2024-02-03 00:00", None, "2024-02-04 00:00", host=None, country=None),
    ]


def test_per_url_hours() -> None:
    clocks = sample()
    assert [c.hours_report_to_removal for c in clocks] == [12.0, 36.0, 24.0, None, None, 24.0]
    assert [c.hours_notice_to_removal for c in clocks] == [10.0, 30.0, 24.0, None, None, None]


def test_removal_recorded_before_the_notice_counts_as_zero() -> None:
    early = clock(9, "2024-01-01 00:00", "2024-01-01 10:00", "2024-01-01 09:59")
    assert early.hours_notice_to_removal == 0.0
    assert early.hours_report_to_removal == pytest.approx(9 + 59 / 60)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([5.0], 5.0),
        ([1.0, 2.0], 2.0),  # rank ceil(1.8) = 2
        ([float(v) for v in range(1, 11)], 9.0),  # rank ceil(9.0) = 9, not 10
        ([float(v) for v in range(1, 12)], 10.0),  # rank ceil(9.9) = 10
        ([float(v) for v in range(20, 0, -1)], 18.0),  # unsorted input; rank 18
        ([7.0, 3.0, 100.0, 4.0], 100.0),  # rank ceil(3.6) = 4
    ],
)
def test_p90_is_nearest_rank(values: list[float], expected: float) -> None:
    assert nearest_rank(values, 90) == expected


def test_percentile_edges() -> None:
    assert nearest_rank([], 90) is None
    assert nearest_rank([3.0, 1.0, 2.0], 100) == 3.0
    with pytest.raises(ValueError):
        nearest_rank([1.0], 0)


def test_median() -> None:
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([4.0, 1.0, 3.0, 2.0]) == 2.5
    assert median([]) is None


def test_overall_figures() -> None:
    overall = summarise(sample(), NOW).overall
    assert (overall.count, overall.removed, overall.open) == (6, 4, 2)
    # report→removal over removed only: [12, 24, 24, 36]
    assert overall.median_report_h == 24.0
    assert overall.p90_report_h == 36.0  # rank ceil(3.6) = 4
    # notice→removal: [10, 24, 30]
    assert overall.median_notice_h == 24.0
    assert overall.p90_notice_h == 30.0  # rank ceil(2.7) = 3
    # notified 5; case 5 awaits its 24 h; of the 4 decided, cases 1 and 3 made it
    assert (overall.notified, overall.awaiting_24h, overall.decided_24h) == (5, 1, 4)
    assert overall.within_24h == 2
    assert overall.share_24h == 0.5


def test_open_case_counts_against_the_share_once_24_hours_pass() -> None:
    later = at("2024-03-11 06:01")  # 24 h 1 min after case 5's notice
    overall = summarise(sample(), later).overall
    assert (overall.awaiting_24h, overall.decided_24h, overall.within_24h) == (0, 5, 2)
    assert overall.share_24h == pytest.approx(0.4)
    assert overall.median_report_h == 24.0  # open cases never enter the medians


def test_by_month() -> None:
    months = grouped(sample(), GroupBy.month, NOW)
    assert [g.key for g in months] == ["2024-01", "2024-02", "2024-03"]
    january, february, march = months
    assert (january.count, january.removed, january.median_report_h) == (3, 3, 24.0)
    assert january.p90_report_h == 36.0
    assert january.share_24h == pytest.approx(2 / 3)
    assert (february.count, february.removed, february.median_report_h) == (2, 1, 24.0)
    assert (february.decided_24h, february.within_24h, february.share_24h) == (1, 0, 0.0)
    assert (march.removed, march.median_report_h, march.p90_report_h) == (0, None, None)
    assert march.share_24h is None  # nothing decided yet


def test_by_host_orders_by_count_then_name_unknown_last() -> None:
    hosts = grouped(sample(), GroupBy.host, NOW)
    assert [(g.key, g.count) for g in hosts] == [("h1.example", 2), ("h2.example", 2), (None, 2)]
    h1 = hosts[0]
    assert (h1.median_report_h, h1.median_notice_h, h1.share_24h) == (24.0, 20.0, 0.5)


def test_by_country_and_category() -> None:
    summary = summarise(sample(), NOW)
    countries = summary.groups[GroupBy.country]
    assert [(g.key, g.count) for g in countries] == [("FR", 2), ("GB", 2), (None, 2)]
    categories = summary.groups[GroupBy.category]
    assert [(g.key, g.count) for g in categories] == [("A", 3), ("B", 1), ("C", 1), (None, 1)]


def test_nothing_at_all() -> None:
    overall = summarise([], NOW).overall
    assert (overall.count, overall.removed, overall.notified) == (0, 0, 0)
    assert overall.median_report_h is None and overall.p90_notice_h is None
    assert overall.share_24h is None
    assert summarise([], NOW).groups[GroupBy.host] == []

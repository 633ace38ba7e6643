"""The managers' dashboard: how the work stands and flows over a date range, as totals. No
figure names an analyst: viewing hours are summed over everyone, against the cap they add up
to. Computed on each visit from the live tables (staff only, a bounded range)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline.grading.tables import MediaItemRow, MediaViewRow
from hotline.intake.tables import ReportedUrlRow, ReportRow
from hotline.stats.removal import median, nearest_rank
from hotline.stats.store import DateRange
from hotline.takedown.tables import NoticeRow, TakedownCaseRow

OPEN = ("received", "in_assessment")
AGE_BUCKETS = ((1, "under_1d"), (3, "1_to_3d"), (7, "3_to_7d"), (30, "7_to_30d"))
OLDER = "over_30d"
MAX_DAILY = 62  # longer ranges are shown by month


@dataclass(frozen=True)
class Dashboard:
    dates: DateRange
    by: str  # "day" or "month"
    flow: list[tuple[str, int, int]]  # (period, reports in, URLs assessed)
    backlog: dict[str, int]  # age bucket -> open queue items
    oldest_hours: float | None
    verdict_median_h: float | None
    verdict_p90_h: float | None
    verdicts: int
    grading_waiting: int
    grading_disagreement: int
    grading_agreed: int  # decided in the range by agreement
    grading_resolved: int  # decided in the range by a senior
    cases_open: dict[str, int]  # age bucket -> open takedown cases
    notices_bounced: int
    notices_failed: int
    viewing_hours: float
    cap_hours: float  # analyst-days with viewing, times the daily cap


def _period(session: Session, column: Any, by: str) -> Any:
    pattern = "%Y-%m-%d" if by == "day" else "%Y-%m"
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), pattern.replace("%Y", "YYYY")
                            .replace("%m", "MM").replace("%d", "DD"))  # fmt: skip
    return func.strftime(pattern, column)


def _ages(times: list[datetime], now: datetime) -> dict[str, int]:
    found = Counter[str]()
    for at in times:
        days = (now - at) / timedelta(days=1)
        found[next((name for limit, name in AGE_BUCKETS if days < limit), OLDER)] += 1
    return {name: found.get(name, 0) for name in [n for _l, n in AGE_BUCKETS] + [OLDER]}


def _counts(session: Session, column: Any, low: datetime, high: datetime, by: str
            ) -> dict[str, int]:  # fmt: skip
    period = _period(session, column, by)
    rows = session.execute(
        select(period, func.count()).where(column >= low, column < high).group_by(period)
    )
    return {str(p): int(n) for p, n in rows}


def load(session: Session, dates: DateRange, now: datetime, cap_minutes: int) -> Dashboard:
    low, high = dates.bounds()
    by = "day" if (dates.end - dates.start).days < MAX_DAILY else "month"
    reports_in = _counts(session, ReportRow.created_at, low, high, by)
    assessed = _counts(session, ReportedUrlRow.verdict_at, low, high, by)
    flow = [(p, reports_in.get(p, 0), assessed.get(p, 0))
            for p in sorted(set(reports_in) | set(assessed))]  # fmt: skip
    waiting = list(session.execute(
        select(ReportedUrlRow.first_reported_at).where(ReportedUrlRow.status.in_(OPEN))
    ).scalars())  # fmt: skip
    url = ReportedUrlRow
    hours = [
        max((v - f) / timedelta(hours=1), 0.0)
        for f, v in session.execute(
            select(url.first_reported_at, url.verdict_at).where(
                url.verdict_at >= low, url.verdict_at < high
            )
        )
        if v is not None
    ]
    media = MediaItemRow
    status = dict(
        session.execute(
            select(media.status, func.count())
            .where(media.status.in_(("awaiting_grades", "disagreement")))
            .group_by(media.status)
        ).all()
    )
    decided = dict(
        session.execute(
            select(media.status, func.count())
            .where(
                media.status.in_(("agreed", "resolved")),
                media.decided_at >= low,
                media.decided_at < high,
                media.inherited_from.is_(None),
            )
            .group_by(media.status)
        ).all()
    )
    open_cases = list(session.execute(
        select(TakedownCaseRow.first_reported_at).where(TakedownCaseRow.removed_at.is_(None))
    ).scalars())  # fmt: skip
    notices = dict(
        session.execute(
            select(NoticeRow.status, func.count())
            .where(
                NoticeRow.status.in_(("bounced", "failed")),
                NoticeRow.created_at >= low,
                NoticeRow.created_at < high,
            )
            .group_by(NoticeRow.status)
        ).all()
    )
    view = MediaViewRow
    in_range = (view.at >= low, view.at < high, view.kind != "break")
    seconds = session.scalar(select(func.coalesce(func.sum(view.seconds), 0)).where(*in_range))
    day = _period(session, view.at, "day")
    analyst_days = session.scalar(
        select(func.count()).select_from(
            select(view.user_id, day).where(*in_range).group_by(view.user_id, day).subquery()
        )
    )
    return Dashboard(
        dates=dates, by=by, flow=flow, backlog=_ages(waiting, now),
        oldest_hours=max(((now - w) / timedelta(hours=1) for w in waiting), default=None),
        verdict_median_h=median(hours), verdict_p90_h=nearest_rank(hours, 90),
        verdicts=len(hours), grading_waiting=int(status.get("awaiting_grades", 0)),
        grading_disagreement=int(status.get("disagreement", 0)),
        grading_agreed=int(decided.get("agreed", 0)),
        grading_resolved=int(decided.get("resolved", 0)),
        cases_open=_ages(open_cases, now), notices_bounced=int(notices.get("bounced", 0)),
        notices_failed=int(notices.get("failed", 0)), viewing_hours=int(seconds or 0) / 3600,
        cap_hours=int(analyst_days or 0) * cap_minutes / 60,
    )  # fmt: skip

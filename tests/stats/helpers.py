"""Takedown cases written straight into the tables, with the clocks a test chooses."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from hotline.db.engine import Database
from hotline.intake.tables import ReportedUrlRow
from hotline.stats.removal import Clock
from hotline.takedown.tables import TakedownCaseRow


def at(text: str) -> datetime:
    """'2024-01-01 10:00' as a UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def add_case(
    db: Database,
    reference: str,
    *,
    reported: datetime,
    notice: datetime | None = None,
    removed: datetime | None = None,
    host: str | None = "host-one.example",
    country: str | None = "GB",
    category: str | None = "A",
    route: str | None = "notice",
    url: str | None = None,
) -> int:
    """A reported URL and its takedown case; returns the case id."""
    url = url or f"http://site.example/{reference}"
    with db.write() as session:
        row = ReportedUrlRow(
            url_hash=hashlib.sha256(url.encode()).hexdigest(),
            normalized_url=url,
            host="site.example",
            status="actioned",
            report_count=1,
            first_reported_at=reported,
            last_reported_at=reported,
            verdict="criminal",
            removed_at=removed,
        )
        session.add(row)
        session.flush()
        case = TakedownCaseRow(
            url_id=row.id,
            reference=reference,
            state="removed" if removed else ("notified" if notice else "proposed"),
            route=route,
            host_name=host,
            country=country,
            category=category,
            first_reported_at=reported,
            proposed_at=reported + timedelta(minutes=30),
            first_notice_at=notice,
            last_notice_at=notice,
            reminders_sent=0,
            checks=0,
            unreachable_streak=0,
            removed_at=removed,
            flagged=False,
        )
        session.add(case)
        session.flush()
        return case.id


def clock(
    case_id: int,
    reported: str,
    notice: str | None = None,
    removed: str | None = None,
    *,
    host: str | None = "host-one.example",
    country: str | None = "GB",
    category: str | None = "A",
) -> Clock:
    """A hand-made clock for the pure figures."""
    return Clock(
        case_id=case_id,
        reference=f"TD-{case_id}",
        url=f"http://site.example/{case_id}",
        host=host,
        country=country,
        category=category,
        route="notice",
        first_reported_at=at(reported),
        first_notice_at=at(notice) if notice else None,
        removed_at=at(removed) if removed else None,
    )

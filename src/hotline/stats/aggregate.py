"""Load the facts the published figures are computed from (`stats.figures`), in one read
transaction. Counts are grouped by year in SQL; actioned URLs, their graded images and the
takedown cases are streamed as plain records, so a full refresh reads each table once.

Stats is the last tier: it reads intake's, grading's, takedown's and matching's tables."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Integer, and_, cast, exists, extract, func, or_, select
from sqlalchemy.orm import Session

from hotline.grading.tables import MediaItemRow
from hotline.intake.domains import site_domain
from hotline.intake.tables import ReportedUrlRow, ReportRow
from hotline.matching.tables import HashListEntryRow, HashListRow
from hotline.stats.figures import ActionedUrl, Case, Facts, GradedImage
from hotline.takedown.tables import TakedownCaseRow

CRIMINAL = "criminal"
FINAL = ("agreed", "resolved", "known_match")  # grading.service.FINAL
CHUNK = 10_000


def year_of(session: Session, column: Any) -> ColumnElement[int]:
    """The UTC calendar year of a UTCDateTime column, on either backend."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(extract("year", func.timezone("UTC", column)), Integer)
    return cast(func.strftime("%Y", column), Integer)


def _reports(session: Session) -> dict[int, Counter[str]]:
    year = year_of(session, ReportRow.created_at)
    found: dict[int, Counter[str]] = defaultdict(Counter)
    for y, origin, n in session.execute(
        select(year, ReportRow.origin, func.count()).group_by(year, ReportRow.origin)
    ):
        found[int(y)][origin] = int(n)
    return dict(found)


def _assessed(session: Session) -> dict[int, int]:
    year = year_of(session, ReportedUrlRow.verdict_at)
    rows = session.execute(
        select(year, func.count()).where(ReportedUrlRow.verdict_at.is_not(None)).group_by(year)
    )
    return {int(y): int(n) for y, n in rows}


def _actioned(session: Session) -> list[ActionedUrl]:
    url, case = ReportedUrlRow, TakedownCaseRow
    rows = session.execute(
        select(
            url.id,
            year_of(session, url.verdict_at),
            url.host,
            url.domain,
            url.tld,
            url.site_type,
            url.hosting,
            case.country,
        )
        .outerjoin(case, case.url_id == url.id)
        .where(url.verdict == CRIMINAL, url.verdict_at.is_not(None))
        .execution_options(yield_per=CHUNK)
    )
    found = []
    for url_id, year, host, domain, tld, site_type, hosting, country in rows:
        if domain is None:  # a URL stored by a path that did not derive it
            domain, tld = site_domain(host)
        found.append(ActionedUrl(url_id, int(year), domain, tld, site_type, hosting, country))
    return found


def _images(session: Session) -> list[GradedImage]:
    media, url = MediaItemRow, ReportedUrlRow
    rows = session.execute(
        select(media.url_id, media.final_grade)
        .join(url, url.id == media.url_id)
        .where(
            url.verdict == CRIMINAL,
            media.final_grade.is_not(None),
            media.status.in_(FINAL),
        )
        .execution_options(yield_per=CHUNK)
    )
    found = []
    for url_id, grade_json in rows:
        grade = json.loads(grade_json or "{}")
        found.append(
            GradedImage(
                int(url_id or 0),
                str(grade.get("category")),
                grade.get("age_band"),
                grade.get("sex"),
                bool(grade.get("self_generated")),
            )
        )
    return found


def _cases(session: Session) -> list[Case]:
    case = TakedownCaseRow
    again = exists().where(
        ReportRow.url_id == case.url_id,
        case.removed_at.is_not(None),
        ReportRow.created_at > case.removed_at,
    )
    rows = session.execute(
        select(
            year_of(session, case.first_reported_at),
            case.first_reported_at,
            case.removed_at,
            again,
        ).execution_options(yield_per=CHUNK)
    )
    return [Case(int(y), first, removed, bool(re)) for y, first, removed, re in rows]


def _hashes(session: Session, years: set[int]) -> dict[int, Counter[str]]:
    entry = HashListEntryRow
    own = select(HashListRow.id).where(HashListRow.source.is_(None))
    found: dict[int, Counter[str]] = {}
    for year in sorted(years):
        end = datetime(year + 1, 1, 1, tzinfo=UTC)
        live = and_(
            entry.list_id.in_(own),
            entry.added_at < end,
            or_(entry.withdrawn_at.is_(None), entry.withdrawn_at >= end),
        )
        rows = session.execute(
            select(entry.category, func.count()).where(live).group_by(entry.category)
        )
        found[year] = Counter({str(c): int(n) for c, n in rows})
    return found


def load_facts(session: Session) -> Facts:
    reports, assessed = _reports(session), _assessed(session)
    actioned, cases = _actioned(session), _cases(session)
    years = set(reports) | set(assessed) | {u.year for u in actioned} | {c.year for c in cases}
    return Facts(
        reports=reports,
        assessed=assessed,
        actioned=actioned,
        images=_images(session),
        cases=cases,
        hashes=_hashes(session, years),
    )

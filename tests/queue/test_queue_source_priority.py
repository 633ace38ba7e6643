"""Queue priority by source: reports forwarded by a partner hotline rank above public web and
API reports (oldest first within each), and known material found on a page ranks above both."""

from __future__ import annotations

from sqlalchemy import update

from hotline.assess import queue
from hotline.assess.pipeline import KNOWN_MATCH_PRIORITY
from hotline.db.engine import Database
from hotline.intake import reports
from hotline.intake.tables import ReportedUrlRow
from hotline.security import users


def report(db: Database, url: str, source: reports.Source) -> int:
    with db.write() as session:
        reports.submit(session, reports.validate({"url": url}), source, None)
    with db.read() as session:
        found = {e.url: e.url_id for e in queue.waiting(session, limit=100)}
    return found[reports.validate({"url": url}).url]


def test_partner_reports_rank_above_public_ones(db: Database) -> None:
    web = report(db, "https://example.com/from-the-form", reports.Source.web)
    api = report(db, "https://example.com/from-the-api", reports.Source.api)
    partner_1 = report(db, "https://example.org/forwarded-1", reports.Source.partner)
    partner_2 = report(db, "https://example.org/forwarded-2", reports.Source.partner)
    with db.read() as session:
        listed = queue.waiting(session)
    assert [e.url_id for e in listed] == [partner_1, partner_2, web, api]
    assert [e.priority for e in listed] == [1, 1, 0, 0]
    assert reports.SOURCE_PRIORITY[reports.Source.partner] > max(
        reports.SOURCE_PRIORITY[reports.Source.web], reports.SOURCE_PRIORITY[reports.Source.api]
    )

    # Known material found on a page ranks above a partner's forward.
    with db.write() as session:
        session.execute(
            update(ReportedUrlRow)
            .where(ReportedUrlRow.id == api)
            .values(priority=KNOWN_MATCH_PRIORITY)
        )
    with db.read() as session:
        assert [e.url_id for e in queue.waiting(session)] == [api, partner_1, partner_2, web]


def test_a_url_keeps_the_highest_priority_any_report_gave_it(db: Database) -> None:
    public_first = report(db, "https://example.com/a", reports.Source.web)
    partner_first = report(db, "https://example.com/b", reports.Source.partner)
    # A partner forwards what the public already reported: it moves up.
    assert report(db, "https://example.com/a", reports.Source.partner) == public_first
    # The public reports what a partner forwarded: it does not move down.
    assert report(db, "https://example.com/b", reports.Source.api) == partner_first
    with db.read() as session:
        listed = {e.url_id: e for e in queue.waiting(session)}
    assert listed[public_first].priority == 1 and listed[public_first].report_count == 2
    assert listed[partner_first].priority == 1 and listed[partner_first].report_count == 2


def test_claim_next_takes_the_partners_report_first(db: Database) -> None:
    with db.write() as session:
        analyst = users.create_user(session, "ana", "a long enough password", ["analyst"])
    report(db, "https://example.com/older-public", reports.Source.web)
    forwarded = report(db, "https://example.org/newer-forward", reports.Source.partner)
    with db.write() as session:
        assert queue.claim_next(session, analyst.id) == forwarded

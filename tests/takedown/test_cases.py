"""Takedown cases: proposal with its snapshots and routing (partner hotline, directory match,
no match, auto-send), confirmation, removal, and the lists staff work from."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from hotline.config import Settings
from hotline.db.base import utcnow
from hotline.db.engine import Database
from hotline.errors import Conflict, InvalidInput, NotFound
from hotline.exchange import partners
from hotline.exchange.tables import ForwardRow
from hotline.grading.tables import MediaItemRow
from hotline.intake.tables import ReportedUrlRow
from hotline.jobs.tables import JobRow
from hotline.security.tables import AuditRow
from hotline.takedown import cases
from hotline.takedown.cases import CaseState, CaseTab
from hotline.takedown.tables import NoticeRow, TakedownCaseRow
from tests.assess.conftest import draw_image
from tests.jobs.drain import drain
from tests.queue.test_queue_domain import report
from tests.takedown.cases_support import add_provider, case_row, criminal_url

URL = "https://files.example.org/gallery/1"
# The reactions that route a new case, and nothing that would reach out to a partner or host.
ROUTING = frozenset({"event", "takedown.open_case", "exchange.route_case"})


def route(db: Database, settings: Settings) -> None:
    """Let exchange react to "takedown.case_opened": the case is routed."""
    drain(db, settings, kinds=ROUTING)


def propose(db: Database, url_id: int, settings: Settings) -> int:
    with db.write() as session:
        case_id = cases.propose(session, url_id, settings)
    assert case_id is not None
    return case_id


def count(db: Database, model: type, *where: object) -> int:
    with db.read() as session:
        return session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def actions(db: Database, object_id: int) -> list[str]:
    with db.read() as session:
        return list(
            session.scalars(
                select(AuditRow.action)
                .where(
                    AuditRow.object_type == "takedown_case", AuditRow.object_id == str(object_id)
                )
                .order_by(AuditRow.seq)
            )
        )


def test_a_proposal_snapshots_the_case_and_proposes_the_traced_host(
    db: Database, settings: Settings
) -> None:
    provider = add_provider(db, settings)
    url_id = criminal_url(
        db,
        URL,
        country="gb",
        media=((draw_image(1), "C"), (draw_image(2), "A"), (draw_image(3), "not_illegal")),
    )
    case_id = propose(db, url_id, settings)
    case = case_row(db, case_id)
    with db.read() as session:
        url = session.get(ReportedUrlRow, url_id)
        assert url is not None
        assert case.first_reported_at == url.first_reported_at
    assert case.state == CaseState.proposed and case.route == "notice"
    assert case.reference.startswith("TD-") and len(case.reference) == 11
    assert (case.country, case.category) == ("GB", "A")  # the worst UK category
    assert (case.provider_id, case.host_name) == (provider.id, "Example Hosting")
    assert case.next_check_at is None and case.next_reminder_at is None
    assert count(db, NoticeRow) == 0  # an officer confirms before anything is sent
    assert actions(db, case_id) == ["takedown.case_proposed"]
    # Idempotent per URL: a second call finds the same case.
    assert propose(db, url_id, settings) == case_id
    assert count(db, TakedownCaseRow) == 1


def test_no_directory_match_stays_proposed_without_a_provider(
    db: Database, settings: Settings
) -> None:
    add_provider(db, settings)  # AS64500; the host below is elsewhere
    url_id = criminal_url(db, URL, asn=64999, abuse=("abuse@other.example",), media=())
    case = case_row(db, propose(db, url_id, settings))
    assert case.state == CaseState.proposed and case.provider_id is None
    assert case.host_name == "Example Hosting Ltd"  # the traced network owner
    assert case.category is None  # nothing graded yet
    untraced = criminal_url(db, "https://other.example.net/p", asn=None, country=None)
    case = case_row(db, propose(db, untraced, settings))
    assert case.host_name == "other.example.net" and case.country is None


def test_a_host_abroad_goes_to_the_partner_hotline(db: Database, settings: Settings) -> None:
    add_provider(db, settings)  # would match by ASN, but the partner route comes first
    with db.write() as session:
        partner = partners.add(
            session, "Example NL Hotline", "NL", "https://partner.example.net", _key()
        )
    url_id = criminal_url(db, URL, country="NL")
    case_id = propose(db, url_id, settings)
    assert case_row(db, case_id).state == CaseState.proposed  # until exchange has reacted
    assert count(db, ForwardRow) == 0
    route(db, settings)
    case = case_row(db, case_id)
    assert case.state == CaseState.forwarded and case.route == "partner"
    assert case.partner_id == partner.id and case.provider_id is None
    assert case.next_check_at is not None  # our own re-checks run as well
    assert count(db, ForwardRow, ForwardRow.case_id == case.id) == 1
    assert count(db, JobRow, JobRow.kind == "exchange.forward") == 1
    assert count(db, NoticeRow) == 0


def test_auto_send_confirms_and_queues_the_notice(db: Database, settings: Settings) -> None:
    auto = settings.model_copy(update={"notice_auto_send": True})
    add_provider(db, settings)
    case_id = propose(db, criminal_url(db, URL), auto)
    assert count(db, NoticeRow) == 0  # nothing goes before routing has settled
    route(db, auto)
    case = case_row(db, case_id)
    assert case.state == CaseState.notified and case.confirmed_by is None
    assert case.confirmed_at is not None and case.next_check_at is not None
    with db.read() as session:
        notice = session.execute(select(NoticeRow)).scalar_one()
        job = session.execute(select(JobRow).where(JobRow.kind == "takedown.send_notice")).one()
    assert (notice.kind, notice.status, notice.channel) == ("notice", "pending", "email")
    assert notice.recipient == "abuse@hosting.example"
    assert notice.reference == f"{case.reference}-N1"
    assert json.loads(job[0].payload) == {"notice_id": notice.id}
    assert actions(db, case.id) == ["takedown.case_proposed", "takedown.case_confirmed"]
    # Auto-send needs a directory match: without one the case waits for an officer.
    other = criminal_url(db, "https://x.example.org/2", asn=1, abuse=())
    other_case = propose(db, other, auto)
    route(db, auto)
    assert case_row(db, other_case).state == CaseState.proposed


def test_only_criminal_urls_get_a_case(db: Database, settings: Settings) -> None:
    url_id, _ = report(db, "https://example.com/not-judged")
    with db.write() as session:
        assert cases.propose(session, url_id, settings) is None
    with pytest.raises(NotFound), db.write() as session:
        cases.propose(session, 999_999, settings)
    assert count(db, TakedownCaseRow) == 0


def test_a_case_an_officer_confirmed_before_routing_stays_with_the_host(
    db: Database, settings: Settings
) -> None:
    provider = add_provider(db, settings)
    with db.write() as session:
        partners.add(session, "Example GB Hotline", "GB", "https://partner.example.net", _key())
    case_id = propose(db, criminal_url(db, URL, country="GB"), settings)
    with db.write() as session:  # the officer is quicker than the worker
        cases.confirm(session, case_id, provider_id=provider.id, settings=settings, actor="o")
    route(db, settings)
    case = case_row(db, case_id)
    assert case.state == CaseState.notified and case.route == "notice"
    assert count(db, ForwardRow) == 0  # never both a notice and a forward


def test_confirm_checks_the_provider_and_writes_nothing_on_error(
    db: Database, settings: Settings
) -> None:
    no_email = add_provider(
        db,
        settings,
        "Webhook Host",
        asns="64501",
        channel="webhook",
        webhook_url="https://hooks.example.net/notice",
        webhook_secret="a-secret-of-enough-length",
        abuse_email="",
    )
    good = add_provider(db, settings)
    case_id = propose(db, criminal_url(db, URL, asn=1, abuse=()), settings)
    with pytest.raises(InvalidInput) as caught, db.write() as session:
        cases.confirm(session, case_id, provider_id=424242, settings=settings, actor="officer")
    assert caught.value.fields[0].field == "provider_id"
    assert case_row(db, case_id).state == CaseState.proposed and count(db, NoticeRow) == 0
    with db.write() as session:  # a webhook provider is fine: its channel has an address
        cases.confirm(session, case_id, provider_id=no_email.id, settings=settings, actor="o")
    with db.read() as session:
        assert session.execute(select(NoticeRow.channel)).scalar_one() == "webhook"
    with pytest.raises(Conflict), db.write() as session:
        cases.confirm(session, case_id, provider_id=good.id, settings=settings, actor="officer")
    assert count(db, NoticeRow) == 1


def test_record_removal_stops_the_clock_once(db: Database, settings: Settings) -> None:
    provider = add_provider(db, settings)
    url_id = criminal_url(db, URL)
    case_id = propose(db, url_id, settings)
    with db.write() as session:
        cases.confirm(session, case_id, provider_id=provider.id, settings=settings, actor="o")
    first = case_row(db, case_id).first_reported_at
    bad = [
        (utcnow() + timedelta(hours=1), "future"),
        (first - timedelta(minutes=1), "before the first report"),
        (utcnow().replace(tzinfo=None), "time zone"),
    ]
    for at, why in bad:
        with pytest.raises(InvalidInput, match=why.split()[0]), db.write() as session:
            cases.record_removal(session, case_id, at, "manual")
        assert case_row(db, case_id).removed_at is None
    at = utcnow()
    with db.write() as session:
        assert cases.record_removal(session, case_id, at, "manual", actor="officer") is True
    case = case_row(db, case_id)
    assert case.state == CaseState.removed and case.removed_at == at
    assert case.removal_reason == "manual"
    assert case.next_check_at is None and case.next_reminder_at is None
    with db.read() as session:
        url = session.get(ReportedUrlRow, url_id)
        assert url is not None and url.removed_at == at  # the URL list drops it
        assert session.execute(select(NoticeRow.status)).scalar_one() == "cancelled"
    with db.write() as session:
        assert cases.record_removal(session, case_id, utcnow(), "gone") is False
    assert case_row(db, case_id).removal_reason == "manual"
    assert actions(db, case_id)[-1] == "takedown.removal_recorded"


def test_lists_and_the_case_view(db: Database, settings: Settings) -> None:
    provider = add_provider(db, settings)
    ids = [
        propose(db, criminal_url(db, f"https://files.example.org/{n}"), settings) for n in range(3)
    ]
    with db.write() as session:
        cases.confirm(session, ids[1], provider_id=provider.id, settings=settings, actor="o")
        cases.record_removal(session, ids[2], utcnow(), "manual")
        row = session.get(TakedownCaseRow, ids[0])
        assert row is not None
        row.flagged, row.flag_reason = True, "the notice bounced"
    with db.read() as session:
        counts = cases.tab_counts(session)
        assert counts == {
            CaseTab.proposed: 1,
            CaseTab.notified: 1,
            CaseTab.escalated: 0,
            CaseTab.flagged: 1,
            CaseTab.removed: 1,
        }
        assert [c.id for c in cases.list_cases(session, CaseTab.notified)] == [ids[1]]
        assert [c.id for c in cases.flagged_cases(session)] == [ids[0]]
        assert cases.escalated_cases(session) == []
        view = cases.case_view(session, ids[1])
        with pytest.raises(NotFound):
            cases.case_view(session, 999_999)
    assert view.case.provider_name == "Example Hosting"
    assert [n.status for n in view.notices] == ["pending"] and view.checks == []
    assert view.report_to_removal is None


def _key() -> str:
    return base64.b64encode(bytes(range(32))).decode()


def test_a_category_graded_after_the_verdict_reaches_the_notice(
    db: Database, settings: Settings
) -> None:
    provider = add_provider(db, settings)
    url_id = criminal_url(db, URL, media=((draw_image(4), None),))  # not graded yet
    case_id = propose(db, url_id, settings)
    assert case_row(db, case_id).category is None
    with db.write() as session:
        item = session.execute(
            select(MediaItemRow).where(MediaItemRow.url_id == url_id)
        ).scalar_one()
        item.final_grade = json.dumps({"category": "B", "age_band": "7-10"})
        cases.confirm(session, case_id, provider_id=provider.id, settings=settings, actor="o")
    assert case_row(db, case_id).category == "B"

"""Claims with a lease, verdicts, and the public status that follows them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from hotline.assess import queue
from hotline.db.base import utcnow
from hotline.db.engine import Database
from hotline.errors import Conflict, InvalidInput
from hotline.intake import reports
from hotline.intake.tables import ReportedUrlRow
from hotline.security import users


@pytest.fixture
def analysts(db: Database) -> tuple[int, int]:
    with db.write() as session:
        a = users.create_user(session, "ana", "a long enough password", ["analyst"])
        b = users.create_user(session, "ben", "a long enough password", ["analyst"])
    return a.id, b.id


def report(db: Database, url: str) -> tuple[int, str]:
    with db.write() as session:
        submitted = reports.submit(
            session, reports.validate({"url": url}), reports.Source.api, None
        )
    with db.read() as session:
        items = {e.url: e.url_id for e in queue.waiting(session, limit=1000)}
    return items[reports.validate({"url": url}).url], submitted.reference


def test_two_analysts_never_hold_one_item(db: Database, analysts: tuple[int, int]) -> None:
    a, b = analysts
    url_id, _ = report(db, "https://example.com/one")
    with db.write() as session:
        queue.claim(session, url_id, a)
    with pytest.raises(Conflict, match="another analyst"), db.write() as session:
        queue.claim(session, url_id, b)
    with db.write() as session:
        queue.claim(session, url_id, a)  # renewing my own claim is fine
    with db.read() as session:
        case = queue.get_case(session, url_id)
    assert case.entry.claimed_by == "ana" and case.entry.status.value == "in_assessment"


def test_abandoned_claim_returns_after_its_lease(db: Database, analysts: tuple[int, int]) -> None:
    a, b = analysts
    url_id, _ = report(db, "https://example.com/two")
    with db.write() as session:
        queue.claim(session, url_id, a, lease=timedelta(minutes=5))
    with db.write() as session:  # five minutes later...
        session.execute(
            update(ReportedUrlRow).values(claim_expires_at=utcnow() - timedelta(seconds=1))
        )
    with db.write() as session:
        queue.claim(session, url_id, b)
    with db.read() as session:
        assert queue.get_case(session, url_id).entry.claimed_by == "ben"
    # The first analyst's late verdict is refused: their claim is gone.
    with pytest.raises(Conflict), db.write() as session:
        queue.record_verdict(session, url_id, a, queue.Verdict.not_criminal, "adult_content")


def test_claim_next_takes_priority_then_age(db: Database, analysts: tuple[int, int]) -> None:
    a, b = analysts
    old_id, _ = report(db, "https://example.com/old")
    new_id, _ = report(db, "https://example.com/new")
    urgent_id, _ = report(db, "https://example.com/urgent")
    with db.write() as session:
        session.execute(
            update(ReportedUrlRow).where(ReportedUrlRow.id == urgent_id).values(priority=5)
        )
    with db.write() as session:
        assert queue.claim_next(session, a) == urgent_id
    with db.write() as session:
        assert queue.claim_next(session, b) == old_id
    with db.write() as session:
        assert queue.claim_next(session, b) == old_id  # my own claim comes first, renewed
    with db.read() as session:
        order = [e.url_id for e in queue.waiting(session)]
    assert order == [urgent_id, old_id, new_id]


def test_verdict_moves_public_status(db: Database, analysts: tuple[int, int]) -> None:
    a, _ = analysts
    url_id, reference = report(db, "https://example.com/three")
    with db.read() as session:
        assert reports.public_status(session, reference) == reports.PublicStatus.received
    with db.write() as session:
        queue.claim(session, url_id, a)
    with db.read() as session:
        assert reports.public_status(session, reference) == reports.PublicStatus.in_assessment
    with db.write() as session:
        status = queue.record_verdict(session, url_id, a, queue.Verdict.criminal, "indecent_images")
    assert status.value == "actioned"
    with db.read() as session:
        assert reports.public_status(session, reference) == reports.PublicStatus.actioned
        assert queue.waiting_count(session) == 0
    with pytest.raises(Conflict, match="already been assessed"), db.write() as session:
        queue.claim(session, url_id, a)


def test_duplicate_verdict_links_another_url(db: Database, analysts: tuple[int, int]) -> None:
    a, _ = analysts
    first, _ = report(db, "https://example.com/original")
    second, reference = report(db, "https://mirror.example.net/copy")
    with db.write() as session:
        queue.claim(session, second, a)
    with pytest.raises(InvalidInput), db.write() as session:
        queue.record_verdict(
            session,
            second,
            a,
            queue.Verdict.duplicate,
            "same_content_as_other_url",
            duplicate_of=second,
        )
    with db.write() as session:
        queue.record_verdict(
            session,
            second,
            a,
            queue.Verdict.duplicate,
            "same_content_as_other_url",
            duplicate_of=first,
        )
    with db.read() as session:
        assert reports.public_status(session, reference) == reports.PublicStatus.duplicate
        assert queue.get_case(session, second).duplicate_of == first


@pytest.mark.parametrize(
    ("verdict", "reason", "duplicate_of", "field"),
    [
        ("guilty", "x", None, "decision"),
        ("criminal", "adult_content", None, "decision"),
        ("duplicate", "same_content_as_other_url", "abc", "duplicate_of"),
    ],
)
def test_bad_verdicts(verdict: str, reason: str, duplicate_of: str | None, field: str) -> None:
    with pytest.raises(InvalidInput) as info:
        queue.validate_verdict(verdict, reason, None, duplicate_of)
    assert field in [f.field for f in info.value.fields]


def test_release_needs_my_claim(db: Database, analysts: tuple[int, int]) -> None:
    a, b = analysts
    url_id, _ = report(db, "https://example.com/four")
    with db.write() as session:
        queue.claim(session, url_id, a)
    with pytest.raises(Conflict), db.write() as session:
        queue.release(session, url_id, b)
    with db.write() as session:
        queue.release(session, url_id, a)
    with db.read() as session:
        assert queue.get_case(session, url_id).entry.claimed_by is None

"""Re-checks: the schedule and the removal decision as pure rules, then the scheduler tick and
the re-check job against a benign local site whose pages change: content still there (also
re-encoded), content gone from a page that answers 200, 404, and unreachable N times."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select

from hotline.config import Settings
from hotline.db.base import utcnow
from hotline.db.engine import Database
from hotline.hashing import hash_bytes
from hotline.intake.tables import ReportedUrlRow
from hotline.jobs import queue as jobs
from hotline.jobs.tables import JobRow
from hotline.takedown import cases, checks, schedule
from hotline.takedown.removal import (
    CheckOutcome,
    Fingerprint,
    Observation,
    RemovalReason,
    decide,
)
from hotline.takedown.tables import RecheckRow
from tests.jobs.drain import drain
from tests.takedown.cases_support import (
    PNG_OTHER,
    PNG_SHOWN,
    PNG_THIRD,
    Site,
    add_provider,
    case_row,
    criminal_url,
    due,
    jobs_due_now,
    local_site,
    set_case,
)

MEDIA_GONE = RemovalReason.media_gone
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
CHECK_KINDS = frozenset({"takedown.tick", "takedown.recheck"})


@pytest.fixture
def site() -> Iterator[Site]:
    yield from local_site()


# -- the rules ---------------------------------------------------------------------------------


def test_the_schedule_is_early_then_late_and_reminders_follow_the_last_notice() -> None:
    cadence = schedule.Cadence(
        early=timedelta(minutes=60),
        early_period=timedelta(hours=24),
        late=timedelta(hours=24),
        reminder=timedelta(hours=24),
    )
    assert schedule.next_check(T0, T0, cadence) == T0 + timedelta(hours=1)
    later = T0 + timedelta(hours=23, minutes=59)
    assert schedule.next_check(later, T0, cadence) == later + timedelta(hours=1)
    day = T0 + timedelta(hours=24)
    assert schedule.next_check(day, T0, cadence) == day + timedelta(hours=24)
    assert schedule.next_reminder(T0, cadence) == T0 + timedelta(hours=24)
    with pytest.raises(ValueError):
        schedule.Cadence(timedelta(0), timedelta(hours=1), timedelta(hours=1), timedelta(hours=1))


def _fp(body: bytes) -> Fingerprint:
    h = hash_bytes(body)
    assert h.pdq is not None
    return Fingerprint(h.digests.sha256, h.digests.md5, h.pdq.hex, h.pdq.quality)


def _jpeg(png: bytes) -> bytes:
    out = io.BytesIO()
    Image.open(io.BytesIO(png)).save(out, "JPEG", quality=70)
    return out.getvalue()


@pytest.mark.parametrize(
    ("observation", "streak", "outcome", "removal", "new_streak"),
    [
        (Observation(404, None), 0, CheckOutcome.gone, RemovalReason.gone, 0),
        (Observation(410, None), 2, CheckOutcome.gone, RemovalReason.gone, 0),
        (Observation(None, "dns_failed"), 0, CheckOutcome.unreachable, None, 1),
        (Observation(None, "connect_failed"), 1, CheckOutcome.unreachable, None, 2),
        (Observation(503, None), 2, CheckOutcome.unreachable, RemovalReason.unreachable, 3),
        (Observation(None, "timeout"), 2, CheckOutcome.unreachable, RemovalReason.unreachable, 3),
        (Observation(403, None), 2, CheckOutcome.inconclusive, None, 0),
        (Observation(None, "too_many_redirects"), 1, CheckOutcome.inconclusive, None, 0),
        (Observation(None, "blocked_address"), 1, CheckOutcome.inconclusive, None, 0),
        (Observation(200, None, (_fp(PNG_SHOWN),)), 2, CheckOutcome.present, None, 0),
        (Observation(200, None, (_fp(_jpeg(PNG_SHOWN)),)), 0, CheckOutcome.present, None, 0),
        (
            Observation(200, None, (_fp(PNG_OTHER),)),
            0,
            CheckOutcome.media_gone,
            RemovalReason.media_gone,
            0,
        ),
        (Observation(200, None, (), unseen=1), 0, CheckOutcome.inconclusive, None, 0),
    ],
)
def test_the_removal_decision(
    observation: Observation,
    streak: int,
    outcome: CheckOutcome,
    removal: RemovalReason | None,
    new_streak: int,
) -> None:
    decision = decide(observation, [_fp(PNG_SHOWN)], streak, 3)
    assert (decision.outcome, decision.removal, decision.unreachable_streak) == (
        outcome,
        removal,
        new_streak,
    )
    assert decision.detail


def test_without_recorded_media_a_page_that_answers_is_still_present() -> None:
    decision = decide(Observation(200, None, ()), [], 0, 3)
    assert decision.outcome is CheckOutcome.present and decision.removal is None


def test_a_low_quality_pdq_never_matches_but_exact_bytes_do() -> None:
    weak = Fingerprint("a" * 64, "b" * 32, "0" * 64, 10)
    near = Fingerprint("c" * 64, "d" * 32, "0" * 63 + "1", 100)
    assert not weak.matches(near)
    assert weak.matches(Fingerprint("a" * 64, "e" * 32))
    assert Fingerprint("c" * 64, "d" * 32, "0" * 64, 100).matches(near)


# -- against a local site ----------------------------------------------------------------------


def case_on_site(db: Database, settings: Settings, site: Site, path: str = "/page.html") -> int:
    """A notified case whose URL is a page on the local site carrying PNG_SHOWN."""
    site.serve("/img/shown.png", PNG_SHOWN, "image/png")
    site.serve("/img/logo.png", PNG_OTHER, "image/png")
    site.page_with(path, "/img/shown.png", "/img/logo.png")
    provider = add_provider(db, settings)
    url_id = criminal_url(db, site.url(path), media=((PNG_SHOWN, "B"), (PNG_OTHER, "not_illegal")))
    with db.write() as session:
        case_id = cases.propose(session, url_id, settings)
        assert case_id is not None
        cases.confirm(session, case_id, provider_id=provider.id, settings=settings, actor="o")
    return case_id


def check(db: Database, settings: Settings, site: Site, case_id: int) -> None:
    """Make the case's re-check due and run the tick and the re-check."""
    due(db, case_id, "next_check_at")
    with db.write() as session:
        jobs.enqueue(session, "takedown.tick", {}, dedupe_key="periodic:takedown.tick")
    jobs_due_now(db)
    drain(db, settings, site.policy, kinds=CHECK_KINDS)


def outcomes(db: Database, case_id: int) -> list[str]:
    with db.read() as session:
        return list(
            session.scalars(
                select(RecheckRow.outcome)
                .where(RecheckRow.case_id == case_id)
                .order_by(RecheckRow.id)
            )
        )


def test_content_still_there_keeps_the_case_open(
    db: Database, settings: Settings, site: Site
) -> None:
    case_id = case_on_site(db, settings, site)
    check(db, settings, site, case_id)
    assert outcomes(db, case_id) == ["present"]
    case = case_row(db, case_id)
    assert case.removed_at is None and case.checks == 1
    assert case.next_check_at is not None
    assert utcnow() + timedelta(minutes=59) < case.next_check_at  # the early interval
    # Re-encoded (different bytes, same picture) still counts as the same media (PDQ).
    site.serve("/img/shown.png", _jpeg(PNG_SHOWN), "image/jpeg")
    check(db, settings, site, case_id)
    assert outcomes(db, case_id) == ["present", "present"]
    # Not due: the tick leaves it alone.
    with db.write() as session:
        jobs.enqueue(session, "takedown.tick", {}, dedupe_key="periodic:takedown.tick")
    jobs_due_now(db)
    drain(db, settings, site.policy, kinds=CHECK_KINDS)
    assert len(outcomes(db, case_id)) == 2


def test_a_page_that_answers_200_without_the_media_is_removed(
    db: Database, settings: Settings, site: Site
) -> None:
    case_id = case_on_site(db, settings, site)
    site.page_with("/page.html", "/img/logo.png")  # the logo stays; the graded image is gone
    check(db, settings, site, case_id)
    assert outcomes(db, case_id) == ["media_gone"]
    case = case_row(db, case_id)
    assert case.state == cases.CaseState.removed and case.removal_reason == "media_gone"
    with db.read() as session:
        url = session.get(ReportedUrlRow, case.url_id)
        assert url is not None and url.removed_at == case.removed_at
    assert case.next_check_at is None and case.next_reminder_at is None


def test_a_page_that_swapped_to_other_known_material_is_not_removed(
    db: Database, settings: Settings, site: Site
) -> None:
    """The recorded image is gone, but the page now shows another image graded B elsewhere
    (known material, through hotline.known): still up. Known "not illegal" (the logo) and
    unknown images do not count."""
    case_id = case_on_site(db, settings, site)
    criminal_url(db, "https://elsewhere.example/page", media=((PNG_THIRD, "B"),))
    site.serve("/img/third.png", PNG_THIRD, "image/png")
    site.page_with("/page.html", "/img/third.png", "/img/logo.png")
    check(db, settings, site, case_id)
    assert outcomes(db, case_id) == ["present"]
    case = case_row(db, case_id)
    assert case.removed_at is None
    with db.read() as session:
        detail = session.scalars(select(RecheckRow.detail).where(RecheckRow.case_id == case_id))
        assert "1 item(s) of other known material" in detail.one()
    site.page_with("/page.html", "/img/logo.png")  # now only the known "not illegal" logo
    check(db, settings, site, case_id)
    assert outcomes(db, case_id) == ["present", "media_gone"]


def test_a_404_is_removed(db: Database, settings: Settings, site: Site) -> None:
    case_id = case_on_site(db, settings, site)
    del site.server.routes["/page.html"]
    check(db, settings, site, case_id)
    assert outcomes(db, case_id) == ["gone"]
    case = case_row(db, case_id)
    assert (case.state, case.removal_reason) == ("removed", "gone")
    hits = len(site.server.hits)
    check(db, settings, site, case_id)  # removed: no more checks
    assert len(site.server.hits) == hits and outcomes(db, case_id) == ["gone"]


def test_unreachable_n_times_in_a_row_is_removed(
    db: Database, settings: Settings, site: Site
) -> None:
    case_id = case_on_site(db, settings, site)
    assert settings.removal_unreachable_checks == 3
    site.serve("/page.html", b"down for maintenance", "text/plain", 503)
    check(db, settings, site, case_id)
    del site.dns["site.example"]  # the name no longer resolves
    check(db, settings, site, case_id)
    site.dns["site.example"] = "127.0.0.1"
    site.page_with("/page.html", "/img/shown.png")  # back up: the streak starts again
    check(db, settings, site, case_id)
    assert case_row(db, case_id).unreachable_streak == 0
    site.server.routes["/page.html"] = (500, "text/plain", b"error")
    for _ in range(2):
        check(db, settings, site, case_id)
        assert case_row(db, case_id).removed_at is None
    check(db, settings, site, case_id)
    assert outcomes(db, case_id) == [
        "unreachable",
        "unreachable",
        "present",
        "unreachable",
        "unreachable",
        "unreachable",
    ]
    case = case_row(db, case_id)
    assert (case.state, case.removal_reason, case.unreachable_streak) == (
        "removed",
        "unreachable",
        3,
    )


def test_check_now_on_a_proposed_case(db: Database, settings: Settings, site: Site) -> None:
    site.serve("/img/shown.png", PNG_SHOWN, "image/png")
    site.page_with("/p", "/img/shown.png")
    with db.write() as session:
        case_id = cases.propose(
            session, criminal_url(db, site.url("/p"), media=((PNG_SHOWN, "A"),)), settings
        )
    assert case_id is not None
    with db.write() as session:
        checks.request_check(session, case_id, actor="officer")
        checks.request_check(session, case_id, actor="officer")  # one live job per case
    with db.read() as session:
        assert (
            session.execute(
                select(func.count()).select_from(JobRow).where(JobRow.kind == "takedown.recheck")
            ).scalar_one()
            == 1
        )
    drain(db, settings, site.policy, kinds=CHECK_KINDS)
    assert outcomes(db, case_id) == ["present"]
    assert case_row(db, case_id).next_check_at is None  # the schedule starts with the notice
    set_case(db, case_id, removed_at=utcnow(), state="removed")
    with pytest.raises(cases.Conflict), db.write() as session:
        checks.request_check(session, case_id, actor="officer")

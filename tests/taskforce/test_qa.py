"""QA review of propagated members, on SQLite and PostgreSQL: a senior sees a member drawn
for QA (blurred; a reveal charged and audited), records agree or disagree with a corrected
grade; a disagreement corrects the member's grade (lists and index follow through
`grade.verified`) and counts against the grader who confirmed it in the QA error rate. Every
bad input is a clear error with nothing written. The pages work without JavaScript, in
English and French. Images are drawn by the test (benign shapes)."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from distributed import Client
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select

from hotline.config import Settings
from hotline.db.engine import Database
from hotline.errors import Conflict, Forbidden, InvalidInput, NotFound
from hotline.grading import actions as grading_actions
from hotline.grading.media_store import MediaStore
from hotline.grading.model import parse_grade
from hotline.grading.tables import GradeRow, MediaItemRow, MediaViewRow
from hotline.jobs.tables import JobRow
from hotline.security import users
from hotline.security.permissions import Actor, Role
from hotline.security.tables import AuditRow
from hotline.taskforce import grading, grading_store, qa, throughput
from hotline.taskforce.tables import CaseItemRow, QaReviewRow
from tests.conftest import csrf_from
from tests.known.support import add_media
from tests.taskforce.conftest import family_folder, run_import

RULES = grading.Rules(required=2, qa_share=0.0, member_qa_share=1.0, lease=timedelta(minutes=30))
GRADE = {"category": "B", "age_band": "11-13", "sex": "girls"}
CORRECTED = {"category": "A", "age_band": "7-10", "sex": "girls"}


@dataclass
class Graded:
    case_set_id: int
    cluster_id: int
    representative: int  # its item id
    members: list[int]  # item ids, propagated and drawn for QA (share 1.0)
    g1: Actor  # graded the representative first and confirmed the members
    g2: Actor


def _actor(db: Database, name: str, roles: list[str]) -> Actor:
    with db.write() as session:
        user = users.create_user(session, name, "correct horse battery staple", roles)
    return Actor(user.id, name, frozenset(Role(r) for r in roles), mfa_passed=True)


def grade_one_cluster(db: Database, stores: grading.Stores) -> Graded:
    """Two graders agree on one cluster's representative; the first confirms every member,
    so each is propagated with the final grade and (share 1.0) drawn for QA."""
    g1 = _actor(db, "grader-one", ["taskforce_grader"])
    g2 = _actor(db, "grader-two", ["taskforce_grader"])
    with db.write() as session:
        cluster_id = grading.claim_next(session, g1, RULES, stores)
    assert cluster_id is not None
    with db.write() as session:
        grading.grade(session, g1, cluster_id, 1, GRADE, RULES)
    members = [m.item_id for m in _cluster(db, cluster_id).members]
    for n, item_id in enumerate(members, start=2):
        with db.write() as session:
            grading.confirm(session, g1, cluster_id, n, item_id, RULES)
    with db.write() as session:
        grading.release(session, g1, cluster_id)
    with db.write() as session:
        assert grading.claim_next(session, g2, RULES, stores) == cluster_id
    with db.write() as session:
        cluster = _cluster(db, cluster_id)
        grading.grade(session, g2, cluster_id, cluster.version, GRADE, RULES)
    cluster = _cluster(db, cluster_id)
    assert cluster.state.value == "final"
    return Graded(cluster.case_set_id, cluster_id, cluster.representative.item_id, members, g1, g2)


def _cluster(db: Database, cluster_id: int) -> grading_store.Cluster:
    with db.read() as session:
        return grading_store.get(session, cluster_id)


def _count(db: Database, table: type) -> int:
    with db.read() as session:
        return session.execute(select(func.count()).select_from(table)).scalar_one()


def _audits(db: Database, action: str) -> list[dict[str, Any]]:
    with db.read() as session:
        rows = session.execute(select(AuditRow.detail).where(AuditRow.action == action))
        return [json.loads(d) if isinstance(d, str) else d for d in rows.scalars()]


def _member_media(db: Database, item_id: int) -> MediaItemRow:
    with db.read() as session:
        item = session.get(CaseItemRow, item_id)
        assert item is not None and item.media_id is not None
        media = session.get(MediaItemRow, item.media_id)
        assert media is not None
        session.expunge(media)
        return media


@pytest.fixture
def graded(db: Database, dask_client: Client, tmp_path: Path) -> tuple[Graded, grading.Stores]:
    store = MediaStore(tmp_path / "taskforce-media", b"k" * 32)
    media = MediaStore(tmp_path / "media", b"k" * 32)
    run_import(
        db, "Op", [family_folder(tmp_path / "in")], dask_client, hash_only=False, media=store
    )
    stores = grading.Stores(store, media)
    return grade_one_cluster(db, stores), stores


def test_agree_and_disagree_are_recorded_and_make_the_qa_error_rate(
    db: Database, graded: tuple[Graded, grading.Stores]
) -> None:
    g, _ = graded
    senior = _actor(db, "senior", ["senior_analyst"])
    with db.write() as session:
        waiting = qa.open_queue(session, senior)
    assert [m.item_id for m in waiting] == sorted(g.members)  # the representative is not in it
    assert all(m.grader == "grader-one" and m.grade.category.value == "B" for m in waiting)
    agreed, corrected, *_ = g.members
    before = _member_media(db, agreed).final_grade
    with db.write() as session:
        qa.review(session, senior, agreed, "agree", {})
    assert _member_media(db, agreed).final_grade == before  # an agreement changes nothing
    with db.read() as session:
        figures = {f.username: f for f in throughput.grader_figures(session, g.case_set_id)}
    assert (figures["grader-one"].qa_checked, figures["grader-one"].qa_errors) == (1, 0)
    events_before = _count(db, JobRow)
    with db.write() as session:
        reviewed = qa.review(session, senior, corrected, "disagree", CORRECTED)
    assert reviewed.review is not None and reviewed.review.outcome == "disagree"
    assert reviewed.grade.category.value == "A" and reviewed.review.given_category == "B"
    media = _member_media(db, corrected)
    assert media.status == "resolved"
    assert json.loads(media.final_grade or "{}")["category"] == "A"
    assert json.loads(media.final_grade or "{}")["age_band"] == "7-10"
    with db.read() as session:
        resolution = session.execute(
            select(GradeRow).where(GradeRow.media_id == media.id)
        ).scalar_one()
        assert resolution.is_resolution and resolution.grader_id == senior.id
    assert _count(db, JobRow) == events_before + 1  # grade.verified: the lists follow
    # The representative and the other members keep their grade.
    rep = _cluster(db, g.cluster_id).media_id
    with db.read() as session:
        rep_row = session.get(MediaItemRow, rep)
        assert rep_row is not None and rep_row.status == "agreed"
    assert _member_media(db, agreed).status == "agreed"
    # Each grader's QA error rate: from the recorded reviews, against whoever confirmed.
    with db.read() as session:
        figures = {f.username: f for f in throughput.grader_figures(session, g.case_set_id)}
    one = figures["grader-one"]
    assert (one.qa_checked, one.qa_errors, one.qa_error_rate) == (2, 1, 0.5)
    assert (figures["grader-two"].qa_checked, figures["grader-two"].qa_error_rate) == (0, None)
    review = _audits(db, "taskforce.qa_review")
    assert [(r["outcome"], r["grader"], r["corrected"]) for r in review] == [
        ("agree", g.g1.id, None),
        ("disagree", g.g1.id, "A"),
    ]
    assert len(_audits(db, "media.grade_corrected")) == 1
    with db.write() as session:
        assert [m.item_id for m in qa.open_queue(session, senior)] == sorted(
            set(g.members) - {agreed, corrected}
        )


def test_bad_reviews_are_refused_with_nothing_written(
    db: Database, graded: tuple[Graded, grading.Stores]
) -> None:
    g, _ = graded
    senior = _actor(db, "senior", ["senior_analyst"])
    member = g.members[0]
    before = _member_media(db, member)

    def refused(error: type[Exception], actor: Actor, item: int, outcome: object, **f: str) -> None:
        with pytest.raises(error), db.write() as session:
            qa.review(session, actor, item, outcome, f)
        assert _count(db, QaReviewRow) == 0
        after = _member_media(db, member)
        assert (after.status, after.final_grade) == (before.status, before.final_grade)

    refused(Forbidden, g.g2, member, "agree")  # a taskforce grader is no senior
    refused(InvalidInput, senior, member, "")
    refused(InvalidInput, senior, member, "maybe")
    refused(InvalidInput, senior, member, "disagree")  # no corrected grade
    refused(InvalidInput, senior, member, "disagree", category="A")  # no age band
    refused(InvalidInput, senior, member, "disagree", **GRADE)  # the grade it has
    refused(NotFound, senior, g.representative, "agree")  # not a propagated member
    refused(NotFound, senior, 999_999, "agree")
    # A senior who is also a taskforce grader never reviews a member they confirmed.
    both = Actor(g.g1.id, "grader-one", frozenset({Role.senior_analyst}), mfa_passed=True)
    refused(Forbidden, both, member, "agree")
    with db.write() as session:
        qa.review(session, senior, member, "agree")
    with pytest.raises(Conflict, match="already recorded"), db.write() as session:
        qa.review(session, senior, member, "disagree", CORRECTED)
    assert _count(db, QaReviewRow) == 1
    assert _member_media(db, member).final_grade == before.final_grade


def test_a_correction_needs_a_final_grade(db: Database) -> None:
    """grading.actions.correct_grade on an item not finally graded is a Conflict."""
    senior = _actor(db, "senior", ["senior_analyst"])
    with db.write() as session:
        media_id = add_media(session, n=7)
    with pytest.raises(Conflict), db.write() as session:
        grading_actions.correct_grade(session, senior, media_id, parse_grade(CORRECTED), via="t")
    assert _count(db, GradeRow) == 0


@pytest.fixture
def graded_for_pages(
    db: Database, settings: Settings, dask_client: Client, tmp_path: Path
) -> Graded:
    store = MediaStore(settings.data_dir / "taskforce-media", settings.secret)
    media = MediaStore(settings.data_dir / "media", settings.secret)
    run_import(
        db, "Op", [family_folder(tmp_path / "in")], dask_client, hash_only=False, media=store
    )
    return grade_one_cluster(db, grading.Stores(store, media))


def _post(client: TestClient, url: str, page: str, **data: str) -> Any:
    return client.post(url, data={"csrf_token": csrf_from(page), **data}, follow_redirects=False)


def test_review_pages_without_javascript(
    db: Database, graded_for_pages: Graded, login_as: Callable[[list[str]], TestClient]
) -> None:
    g = graded_for_pages
    client = login_as(["senior_analyst"])
    home = client.get("/staff")
    assert 'href="/staff/taskforce/qa"' in home.text
    listing = client.get("/staff/taskforce/qa")
    assert listing.status_code == 200
    for item_id in g.members:
        assert f'href="/staff/taskforce/qa/{item_id}"' in listing.text
    assert f'/staff/taskforce/qa/{g.representative}"' not in listing.text
    assert "Contrôle qualité du groupe de travail" in client.get("/staff/taskforce/qa?lang=fr").text
    client.get("/staff/taskforce/qa?lang=en")  # the choice is kept: back to English

    member = g.members[0]
    url = f"/staff/taskforce/qa/{member}"
    page = client.get(url)
    assert (
        page.status_code == 200 and 'id="blurred"' in page.text and 'id="revealed"' not in page.text
    )
    thumb = client.get(f"{url}/thumb")
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(thumb.content)).size[0] <= 160
    assert client.get(f"{url}/full").status_code == 403  # no ticket: reveal first
    with db.read() as session:
        reveals = session.execute(
            select(func.count()).where(MediaViewRow.kind == "reveal")
        ).scalar_one()
    revealed = _post(client, f"{url}/reveal", page.text)
    assert revealed.status_code == 200 and 'id="revealed"' in revealed.text
    with db.read() as session:
        assert (
            session.execute(select(func.count()).where(MediaViewRow.kind == "reveal")).scalar_one()
            == reveals + 1
        )
    assert len(_audits(db, "media.reveal")) >= 1
    full = client.get(
        revealed.text.split('id="revealed" src="')[1].split('"')[0].replace("&amp;", "&")
    )
    assert full.status_code == 200 and full.headers["content-type"].startswith("image/")
    assert Image.open(io.BytesIO(full.content)).size in {(160, 120), (80, 60)}  # not blurred

    # Bad input: a disagreement without a corrected grade is shown on the page, nothing kept.
    bad = _post(client, f"{url}/review", page.text, outcome="disagree")
    assert bad.status_code == 422 and "category" in bad.text
    assert _count(db, QaReviewRow) == 0
    done = _post(
        client, f"{url}/review", page.text, outcome="disagree", category="A", age_band="7-10"
    )
    assert done.status_code == 303 and done.headers["location"] == url
    after = client.get(url)
    assert 'data-outcome="disagree"' in after.text
    assert "Category B corrected to Category A" in after.text  # labels, not stored codes
    assert "correction de Catégorie B en Catégorie A" in client.get(f"{url}?lang=fr").text
    again = _post(client, f"{url}/review", page.text, outcome="agree")
    assert again.status_code == 409 and _count(db, QaReviewRow) == 1


def test_taskforce_graders_and_analysts_are_kept_out(
    graded_for_pages: Graded, login_as: Callable[[list[str]], TestClient]
) -> None:
    client = login_as(["taskforce_grader"])
    member = graded_for_pages.members[0]
    for url in (
        "/staff/taskforce/qa",
        f"/staff/taskforce/qa/{member}",
        f"/staff/taskforce/qa/{member}/thumb",
    ):
        assert client.get(url).status_code == 403

"""A case set's progress and its graders' throughput and consistency: figures from aggregate
queries on both databases, counts we can predict, the page (English and French) with its
charts, permission checked and audited. Hashes are made up; no media is involved."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from hotline.db.base import utcnow
from hotline.db.engine import Database
from hotline.errors import Forbidden, NotFound
from hotline.grading.agreement import cohens_kappa, kappa_from_table
from hotline.grading.tables import MediaItemRow
from hotline.security import users
from hotline.security.permissions import Actor, Role
from hotline.security.tables import AuditRow, UserRow
from hotline.taskforce import actions, store, throughput
from hotline.taskforce.tables import CaseItemRow, ClusterRow, DecisionRow, QaReviewRow
from hotline.web import labels
from hotline.web.i18n import set_locale
from tests.known.support import add_media, digests, grade_alike, graded, graders
from tests.taskforce.conftest import run_import


def _item_ids(db: Database, case_set_id: int) -> dict[int, int]:
    """Item id by the n its made-up MD5 came from."""
    with db.read() as session:
        rows = store.items_of(session, case_set_id)
    by_md5 = {digests(n)[0]: n for n in range(1, 400)}
    return {by_md5[r.md5]: r.id for r in rows if r.md5 in by_md5}


def _graded_media(db: Database, by: list[int], n: int, category: str) -> int:
    with db.write() as session:
        media_id = add_media(session, n=n)
        grade_alike(session, media_id, by, category)
    return media_id


def build(db: Database, tmp_path: Path) -> int:
    """A set with every figure known in advance (see each step's comment)."""
    by = graders(db)
    graded(db, by, n=300, category="B")  # item 8 of the manifest is known by it
    manifest = tmp_path / "set.csv"
    rows = [digests(n)[0] for n in (1, 2, 3, 4, 5, 6, 7, 300, 1, 1)]
    manifest.write_text("md5\n" + "\n".join(rows) + "\n")
    # 10 files: 8 items (one known), 2 duplicates of item 1.
    report = run_import(db, "progress", [manifest], None)
    case_set_id = report.case_set.id
    item = _item_ids(db, case_set_id)
    m1 = _graded_media(db, by, 201, "B")  # cluster 1's representative: final, B, QA sample
    m2 = _graded_media(db, by, 202, "B")  # a member of cluster 1 given B, sampled for QA
    m3 = _graded_media(db, by, 203, "A")  # cluster 3's representative: final, A
    with db.write() as session:
        m5 = add_media(session, n=205)  # cluster 2's representative: waiting for a second grade
        session.execute(
            update(MediaItemRow).where(MediaItemRow.id.in_([m1, m2])).values(qa_sampled=True)
        )
        g1 = users.create_user(session, "grader-one", "a long enough password", ["analyst"]).id
        g2 = users.create_user(session, "grader-two", "a long enough password", ["analyst"]).id
        now = utcnow()
        # The import made a cluster of each hashed item (no PDQ: each alone), all open.
        clusters = {}
        for name, rep, state, media in (
            ("k1", item[1], "final", m1),
            ("k2", item[5], "verifying", m5),
            ("k3", item[6], "final", m3),
        ):
            clusters[name] = session.execute(
                select(ClusterRow.id).where(ClusterRow.representative_id == rep)
            ).scalar_one()
            session.execute(
                update(ClusterRow)
                .where(ClusterRow.id == clusters[name])
                .values(state=state, media_id=media)
            )
        states: tuple[tuple[int, str, int | None], ...] = (
            (1, "representative", m1),
            (2, "propagated", m2),
            (3, "confirmed", None),
            (4, "suggested", None),
            (5, "representative", m5),
            (6, "representative", m3),
            (7, "representative", None),  # its cluster claimed, not graded yet: not counted
        )
        for n, grade_state, item_media in states:
            session.execute(
                update(CaseItemRow)
                .where(CaseItemRow.id == item[n])
                .values(grade_state=grade_state, media_id=item_media)
            )
        # grader-one: 4 live decisions (72 s), 3 clusters graded; one undone decision.
        # grader-two: 2 live decisions (36 s), 1 cluster graded.
        for user, cluster, n, kind, category, seconds, undone in (
            (g1, "k1", 1, "grade", "B", 20, False),
            (g1, "k1", 2, "confirm", None, 4, False),
            (g1, "k2", 5, "grade", "A", 30, False),
            (g1, "k3", 6, "grade", "C", 18, False),
            (g1, "k1", 1, "grade", "A", 100, True),
            (g2, "k1", 1, "grade", "C", 36, False),
            (g2, "k1", 2, "confirm", None, 0, False),
        ):
            session.add(
                DecisionRow(
                    case_set_id=case_set_id,
                    cluster_id=clusters[cluster],
                    item_id=item[n],
                    user_id=user,
                    kind=kind,
                    category=category,
                    detail="{}",
                    seconds=seconds,
                    created_at=now,
                    undone_at=now + timedelta(seconds=1) if undone else None,
                )
            )
        source_id = session.execute(select(CaseItemRow.source_id).limit(1)).scalar_one()
        store.write_batch(
            session,
            case_set_id,
            source_id,
            items=[],
            failures=[store.NewFailure(99, "broken.png", "not an image")],
            done=10,
            media=None,
        )
    return case_set_id


def test_set_progress_counts(db: Database, tmp_path: Path) -> None:
    case_set_id = build(db, tmp_path)
    with db.read() as session:
        progress = throughput.set_progress(session, case_set_id)
    assert progress == throughput.SetProgress(
        files=11,
        hashed=8,
        failed=1,
        duplicates=2,
        known=1,
        clusters=7,  # one a hashed item
        clusters_open=4,
        clusters_verifying=1,
        clusters_final=2,
        graded=5,  # representatives 1, 5, 6; member 2 propagated; member 3 confirmed
        verified=3,  # items 1, 2 and 6 carry a final grade; item 5's is not final yet
    )


def test_grader_figures(db: Database, tmp_path: Path) -> None:
    case_set_id = build(db, tmp_path)
    with db.read() as session:
        one, two = throughput.grader_figures(session, case_set_id)
    assert (one.username, one.decisions, one.items, one.clusters) == ("grader-one", 4, 4, 3)
    assert (one.seconds, one.items_per_hour, one.clusters_per_hour) == (72, 200.0, 150.0)
    assert one.seconds_per_decision == 18.0
    # Against the final category: B for B (cluster 1), C for A (cluster 3); cluster 2 is not
    # final. As cohens_kappa computes it from the two sequences.
    assert one.agreed_items == 2
    assert one.kappa == pytest.approx(1 / 3)
    assert one.kappa == pytest.approx(cohens_kappa(["B", "C"], ["B", "A"]))
    assert (one.qa_checked, one.qa_errors, one.qa_error_rate) == (0, 0, None)  # no QA review
    assert (two.username, two.items, two.clusters, two.seconds) == ("grader-two", 2, 1, 36)
    assert (two.items_per_hour, two.clusters_per_hour, two.seconds_per_decision) == (
        200.0,
        100.0,
        18.0,
    )
    assert (two.agreed_items, two.kappa) == (1, 0.0)
    assert (two.qa_checked, two.qa_errors, two.qa_error_rate) == (0, 0, None)


def test_the_qa_error_rate_comes_from_the_recorded_reviews(db: Database, tmp_path: Path) -> None:
    """Per grader: their reviewed members, and the reviews that disagreed (tests/taskforce/
    test_qa.py records them through the action; here the rows, to count them exactly)."""
    case_set_id = build(db, tmp_path)
    with db.write() as session:
        g1, g2 = (
            session.execute(select(UserRow.id).where(UserRow.username == name)).scalar_one()
            for name in ("grader-one", "grader-two")
        )
        media = session.execute(select(MediaItemRow.id).limit(1)).scalar_one()
        for n, (grader, outcome) in enumerate(
            [(g1, "agree"), (g1, "disagree"), (g1, "agree"), (g2, "disagree"), (None, "agree")]
        ):
            session.add(
                QaReviewRow(
                    case_set_id=case_set_id,
                    cluster_id=1,
                    item_id=10_000 + n,
                    media_id=media,
                    grader_id=grader,
                    reviewer_id=g2,
                    outcome=outcome,
                    given_category="B",
                    corrected_grade=None,
                    created_at=utcnow(),
                )
            )
        session.add(  # another set's review counts there, not here
            QaReviewRow(
                case_set_id=case_set_id + 1,
                cluster_id=1,
                item_id=20_000,
                media_id=media,
                grader_id=g1,
                reviewer_id=g2,
                outcome="disagree",
                given_category="B",
                corrected_grade=None,
                created_at=utcnow(),
            )
        )
    with db.read() as session:
        one, two = throughput.grader_figures(session, case_set_id)
    assert (one.qa_checked, one.qa_errors, one.qa_error_rate) == (3, 1, pytest.approx(1 / 3))
    assert (two.qa_checked, two.qa_errors, two.qa_error_rate) == (1, 1, 1.0)


def test_kappa_from_a_table_is_cohens_kappa() -> None:
    rater = ["A", "B", "B", "C", "not_illegal", "C", "A", "B"]
    final = ["A", "B", "C", "C", "not_illegal", "B", "A", "A"]
    table: dict[tuple[str, str], int] = {}
    for pair in zip(rater, final, strict=True):
        table[pair] = table.get(pair, 0) + 1
    assert kappa_from_table(table) == pytest.approx(cohens_kappa(rater, final))
    assert kappa_from_table({}) is None
    assert kappa_from_table({("B", "B"): 3}) is None


def _audit(db: Database) -> list[tuple[str, str]]:
    with db.read() as session:
        rows = session.execute(
            select(AuditRow.actor, AuditRow.object_id).where(AuditRow.action == "taskforce.view")
        ).all()
    return [(r.actor, r.object_id) for r in rows]


def test_the_page_in_english_and_french(
    db: Database, login_as: Callable[[list[str]], TestClient], tmp_path: Path
) -> None:
    case_set_id = build(db, tmp_path)
    client = login_as(["taskforce_grader"])
    listing = client.get("/staff/taskforce")
    assert f'href="/staff/taskforce/{case_set_id}"' in listing.text
    page = client.get(f"/staff/taskforce/{case_set_id}")
    assert page.status_code == 200
    text = page.text
    assert "Case set progress" in text and 'id="chart-progress"' in text
    assert 'id="chart-graders"' in text and "<script" not in text
    assert "grader-one" in text and "200.0" in text and "0.33" in text
    assert "4 open, 1 being verified, 2 final" in text
    assert ">11 <" in text or ">11</text>" in text  # the files bar's value label
    french = client.get(f"/staff/taskforce/{case_set_id}?lang=fr").text
    assert "Avancement du lot" in french and "Évaluateurs" in french
    # Figures in French: a decimal comma (items per hour, kappa), never "0.00".
    assert "<td>200,0</td>" in french and "<td>0,33 <span" in french
    assert "<td>0,00 <span" in french and "<td>200.0</td>" not in french
    assert [obj for _actor, obj in _audit(db)][-2:] == [str(case_set_id), str(case_set_id)]


def test_no_such_set_and_other_roles(
    db: Database, login_as: Callable[[list[str]], TestClient], tmp_path: Path
) -> None:
    case_set_id = build(db, tmp_path)
    analyst = login_as(["analyst"])
    assert analyst.get(f"/staff/taskforce/{case_set_id}").status_code == 403
    someone = Actor(7, "ana", frozenset({Role.analyst}), mfa_passed=True)
    with db.write() as session, pytest.raises(Forbidden):
        actions.view_case_set(session, someone, case_set_id)
    with db.write() as session, pytest.raises(NotFound):
        actions.view_case_set(session, Actor.operator("tester"), case_set_id + 1000)
    assert _audit(db) == []


def test_an_empty_set_draws_empty_charts(
    db: Database, login_as: Callable[[list[str]], TestClient], tmp_path: Path
) -> None:
    manifest = tmp_path / "one.csv"
    manifest.write_text("md5\n" + digests(9)[0] + "\n")
    case_set_id = run_import(db, "small", [manifest], None).case_set.id
    client = login_as(["taskforce_grader"])
    page = client.get(f"/staff/taskforce/{case_set_id}")
    assert page.status_code == 200
    assert "No grading decisions yet." in page.text


def test_figures_follow_the_readers_language() -> None:
    set_locale("fr")
    try:
        assert labels.number(1234.5, 2) == "1\u202f234,50"
        assert labels.number(0.0, 2) == "0,00" and labels.number(None, 1) == "—"
        assert labels.percent(0.25) == "25\u00a0%"
    finally:
        set_locale("en")
    assert labels.number(1234.5, 2) == "1,234.50" and labels.number(7.04) == "7"
    assert labels.percent(0.125) == "12%" and labels.percent(None) == "—"

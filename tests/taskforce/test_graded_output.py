"""What a graded case set gives back, through the real grading actions: a cluster graded by
one grader, a member confirmed, the grade verified by a second grader and propagated; then the
verified grades are in the next release of a hash list (the lists' own pipeline, through the
`grade.verified` event), the case set's VICS export carries them and reads back, and the
case-set figures count them. Benign drawn images only (tests/taskforce/conftest.py)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from distributed import Client

from hotline.config import Settings
from hotline.db.engine import Database
from hotline.grading.media_store import MediaStore
from hotline.lists import imports, release
from hotline.lists.api import release_root
from hotline.matching import store as match_store
from hotline.security import users
from hotline.security.permissions import Actor, Role
from hotline.taskforce import actions, export, grading, grading_store, store, throughput
from tests.conftest import TEST_SECRET
from tests.jobs.drain import drain
from tests.taskforce.conftest import family_folder, run_import

RULES = grading.Rules(required=2, qa_share=0.0, member_qa_share=1.0, lease=timedelta(minutes=30))
GRADE = {"category": "B", "child_age_1": "11-13", "child_sex_1": "girl"}


def _grader(db: Database, name: str) -> Actor:
    with db.write() as session:
        user = users.create_user(
            session, name, "correct horse battery staple", ["taskforce_grader"]
        )
    return Actor(user.id, name, frozenset({Role.taskforce_grader}), mfa_passed=True)


@pytest.fixture
def verified(db: Database, dask_client: Client, tmp_path: Path) -> dict[str, object]:
    """Case set "Op" with one cluster verified as B and one confirmed member propagated."""
    stores = grading.Stores(
        MediaStore(tmp_path / "taskforce-media", TEST_SECRET.encode()),
        MediaStore(tmp_path / "media", TEST_SECRET.encode()),
    )
    report = run_import(
        db,
        "Op",
        [family_folder(tmp_path / "in")],
        dask_client,
        hash_only=False,
        media=stores.taskforce,
    )
    with db.write() as session:
        match_store.create_list(session, "iwf-hashes")  # takes verified A, B and C
    one, two = _grader(db, "grader-one"), _grader(db, "grader-two")
    with db.write() as session:
        cluster_id = grading.claim_next(session, one, RULES, stores)
    assert cluster_id is not None
    with db.write() as session:
        grading.grade(session, one, cluster_id, 1, GRADE, RULES)
    with db.read() as session:
        cluster = grading_store.get(session, cluster_id)
    member = cluster.members[0].item_id
    with db.write() as session:
        grading.confirm(session, one, cluster_id, 2, member, RULES)
        grading.release(session, one, cluster_id)
    with db.write() as session:
        assert grading.claim_next(session, two, RULES, stores) == cluster_id
    with db.write() as session:
        decision = grading.grade(session, two, cluster_id, 3, GRADE, RULES)
    assert decision.outcome.value == "agreed"
    with db.read() as session:
        items = {i.id: i for i in store.items_of(session, report.case_set.id)}
    return {
        "case_set_id": report.case_set.id,
        "representative": items[cluster.representative.item_id].sha256,
        "member": items[member].sha256,
        "items": len([i for i in items.values() if i.status == "hashed"]),
    }


def test_verified_taskforce_grades_are_in_the_next_list_release(
    db: Database, settings: Settings, verified: dict[str, object]
) -> None:
    drain(db, settings)  # grade.verified -> lists.follow_grades
    published = release.publish(db, release_root(settings), "iwf-hashes", settings.secret, "test")
    lines = (published.path / "entries.jsonl").read_bytes().splitlines()
    entries = {e["sha256"]: e for e in map(orjson.loads, lines[1:])}
    for role in ("representative", "member"):
        entry = entries[str(verified[role])]
        assert entry["category"] == "B"
        assert entry["jurisdictions"]["us_vics"] == "1"
    assert len(entries) == 2  # nothing else in the set is verified


def test_the_export_carries_the_verified_grades_and_reads_back(
    db: Database, tmp_path: Path, verified: dict[str, object]
) -> None:
    out = tmp_path / "op.json"
    result = actions.export_case_set(db, Actor.operator("tester"), "Op", "vics", out)
    assert result.written == 2
    assert result.left_out[export.NOT_GRADED] == int(str(verified["items"])) - 2
    batch = imports.parse("vics", out.read_bytes(), source_name=out.name)
    assert batch.problems == []
    back = {e.sha256: e.category for e in batch.entries}
    assert back == {verified["representative"]: "vics-1", verified["member"]: "vics-1"}
    media = json.loads(out.read_bytes())["value"]
    assert {m["Tags"] for m in media} == {"UK category B"}


def test_the_case_set_figures_count_them(db: Database, verified: dict[str, object]) -> None:
    case_set_id = int(str(verified["case_set_id"]))
    with db.read() as session:
        progress = throughput.set_progress(session, case_set_id)
        graders = {g.username: g for g in throughput.grader_figures(session, case_set_id)}
    assert (progress.graded, progress.verified, progress.clusters_final) == (2, 2, 1)
    one, two = graders["grader-one"], graders["grader-two"]
    assert (one.items, one.clusters, one.decisions) == (2, 1, 2)  # a grade and a confirmation
    assert (two.items, two.clusters, two.decisions) == (1, 1, 1)
    # Each compared on the one final representative, B for B: kappa undefined, not 1.
    assert (one.agreed_items, one.kappa, two.agreed_items, two.kappa) == (1, None, 1, None)
    # member_qa_share 1.0: the propagated member is drawn for QA; grader-one confirmed it.
    assert (one.qa_checked, one.qa_errors) == (1, 0)

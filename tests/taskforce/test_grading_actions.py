"""Taskforce grading's actions on SQLite and PostgreSQL: claims with a lease, the grade of a
representative with several children, members confirmed or split out, undo, N-person
verification on the representative and propagation to confirmed members; and each bad input
(a cluster another holds, a stale version, an invalid grade, no permission) a clear error
with nothing written."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from distributed import Client
from sqlalchemy import func, select

from hotline.config import Settings
from hotline.db.engine import Database
from hotline.errors import Conflict, Forbidden, InvalidInput
from hotline.grading import actions as grading_actions
from hotline.grading import service
from hotline.grading.media_store import MediaStore
from hotline.grading.tables import GradeChildRow, GradeRow, MediaItemRow
from hotline.security import users
from hotline.security.permissions import Actor, Role
from hotline.security.tables import AuditRow
from hotline.taskforce import grading, grading_store
from hotline.taskforce.model import ClusterState, GradeState
from hotline.taskforce.tables import CaseItemRow, ClusterRow, DecisionRow
from tests.conftest import TEST_SECRET
from tests.jobs.drain import drain
from tests.taskforce.conftest import family_folder, run_import

RULES = grading.Rules(required=2, qa_share=0.0, member_qa_share=1.0, lease=timedelta(minutes=30))
GRADE = {
    "category": "B",
    "child_age_1": "11-13",
    "child_sex_1": "boy",
    "child_age_2": "7-10",
    "child_sex_2": "girl",
}


@dataclass
class World:
    db: Database
    stores: grading.Stores
    g1: Actor
    g2: Actor
    senior: Actor


def _actor(db: Database, name: str, roles: list[str]) -> Actor:
    with db.write() as session:
        user = users.create_user(session, name, "correct horse battery staple", roles)
    return Actor(user.id, name, frozenset(Role(r) for r in roles), mfa_passed=True)


@pytest.fixture
def world(db: Database, dask_client: Client, tmp_path: Path) -> World:
    store = MediaStore(tmp_path / "taskforce-media", TEST_SECRET.encode())
    media = MediaStore(tmp_path / "media", TEST_SECRET.encode())
    run_import(
        db, "Op", [family_folder(tmp_path / "in")], dask_client, hash_only=False, media=store
    )
    return World(
        db,
        grading.Stores(store, media),
        _actor(db, "grader-one", ["taskforce_grader"]),
        _actor(db, "grader-two", ["taskforce_grader"]),
        _actor(db, "senior", ["senior_analyst"]),
    )


def _cluster(db: Database, cluster_id: int) -> grading_store.Cluster:
    with db.read() as session:
        return grading_store.get(session, cluster_id)


def _claim(w: World, actor: Actor) -> int:
    with w.db.write() as session:
        cluster_id = grading.claim_next(session, actor, RULES, w.stores)
    assert cluster_id is not None
    return cluster_id


def _count(db: Database, table: type) -> int:
    with db.read() as session:
        return session.execute(select(func.count()).select_from(table)).scalar_one()


def _audits(db: Database, action: str) -> int:
    with db.read() as session:
        return session.execute(select(func.count()).where(AuditRow.action == action)).scalar_one()


def test_two_graders_never_get_the_same_cluster(world: World) -> None:
    first = _claim(world, world.g1)
    second = _claim(world, world.g2)
    assert first != second
    claims = _audits(world.db, "taskforce.cluster_claim")
    with pytest.raises(Conflict, match="another grader"), world.db.write() as session:
        grading.claim(session, world.g2, first, RULES, world.stores)
    assert _cluster(world.db, first).claimed_by == world.g1.id
    assert _audits(world.db, "taskforce.cluster_claim") == claims
    # The representative is a media_items row now, with its bytes in the grading store.
    cluster = _cluster(world.db, first)
    assert (
        cluster.media_id is not None and cluster.representative.state is GradeState.representative
    )
    with world.db.read() as session:
        item = service.get_item(session, cluster.media_id)
    assert item.url_id is None and item.source_url == f"taskforce:Op/{first}"
    assert item.stored and world.stores.media is not None
    assert world.stores.media.get(item.id).startswith(b"\x89PNG")


def test_a_grade_on_a_cluster_held_by_another_is_refused(world: World) -> None:
    cluster_id = _claim(world, world.g1)
    with pytest.raises(Conflict), world.db.write() as session:
        grading.grade(session, world.g2, cluster_id, 1, GRADE, RULES)
    assert _count(world.db, GradeRow) == 0 and _count(world.db, DecisionRow) == 0


def test_a_grade_for_a_cluster_that_changed_is_refused(world: World) -> None:
    cluster_id = _claim(world, world.g1)
    version = _cluster(world.db, cluster_id).version
    with world.db.write() as session:  # the grade moves the version on
        grading.grade(session, world.g1, cluster_id, version, GRADE, RULES)
    member = _cluster(world.db, cluster_id).members[0].item_id
    with (
        pytest.raises(Conflict, match="changed since the page was drawn"),
        world.db.write() as session,
    ):
        grading.confirm(session, world.g1, cluster_id, version, member, RULES)
    assert _cluster(world.db, cluster_id).members[0].state is GradeState.suggested
    assert _count(world.db, DecisionRow) == 1


def test_an_invalid_grade_writes_nothing(world: World) -> None:
    cluster_id = _claim(world, world.g1)
    version = _cluster(world.db, cluster_id).version
    bad = [
        {"category": "Z"},
        {"category": "A"},  # no age band
        {"category": "B", "child_age_1": "99"},
        {"category": "B", "child_sex_1": "girl"},  # a child without an age band
        {"category": "B", "child_age_1": "7-10", "age_band": "16-17"},  # not the youngest
    ]
    for fields in bad:
        with pytest.raises(InvalidInput), world.db.write() as session:
            grading.grade(session, world.g1, cluster_id, version, fields, RULES)
    assert _count(world.db, GradeRow) == 0 and _count(world.db, DecisionRow) == 0
    assert _cluster(world.db, cluster_id).version == version


def test_no_permission_no_claim_and_no_grade(world: World) -> None:
    cluster_id = _claim(world, world.g1)
    analyst = Actor(world.g2.id, "ana", frozenset({Role.analyst}), mfa_passed=True)
    for attempt in (
        lambda s: grading.claim_next(s, analyst, RULES, world.stores),
        lambda s: grading.claim(s, analyst, cluster_id, RULES, world.stores),
        lambda s: grading.grade(s, analyst, cluster_id, 1, GRADE, RULES),
    ):
        with pytest.raises(Forbidden), world.db.write() as session:
            attempt(session)
    assert _count(world.db, GradeRow) == 0
    assert _cluster(world.db, cluster_id).claimed_by == world.g1.id


def test_a_lapsed_claim_cannot_decide(world: World) -> None:
    cluster_id = _claim(world, world.g1)
    with world.db.write() as session:
        row = session.get(ClusterRow, cluster_id)
        assert row is not None and row.claim_expires_at is not None
        row.claim_expires_at = row.claim_expires_at - timedelta(hours=1)
    with pytest.raises(Conflict, match="lapsed"), world.db.write() as session:
        grading.grade(session, world.g1, cluster_id, 1, GRADE, RULES)
    # Lapsed: another grader may take it.
    with world.db.write() as session:
        grading.claim(session, world.g2, cluster_id, RULES, world.stores)


def test_grade_confirm_split_verify_and_propagate(world: World, settings: Settings) -> None:
    db = world.db
    cluster_id = _claim(world, world.g1)
    with db.write() as session:
        decision = grading.grade(session, world.g1, cluster_id, 1, GRADE, RULES)
    assert decision.outcome.value == "waiting"
    cluster = _cluster(db, cluster_id)
    assert cluster.state is ClusterState.verifying and cluster.graded_by == world.g1.id
    assert [m.state for m in cluster.members] == [GradeState.suggested] * 3
    keep, also, odd = (m.item_id for m in cluster.members)
    with db.write() as session:
        grading.confirm(session, world.g1, cluster_id, 2, keep, RULES)
    with db.write() as session:
        grading.confirm(session, world.g1, cluster_id, 3, also, RULES)
    with db.write() as session:
        new_cluster = grading.split(session, world.g1, cluster_id, 4, odd)
    assert new_cluster == odd
    assert _cluster(db, new_cluster).state is ClusterState.open
    assert _cluster(db, cluster_id).size == 3
    with db.write() as session:
        grading.release(session, world.g1, cluster_id)
    # The second grader is offered the representative to verify, blind to the first grade.
    with db.write() as session:
        taken = grading.claim_next(session, world.g2, RULES, world.stores)
    assert taken == cluster_id
    with db.write() as session:
        decision = grading.grade(
            session,
            world.g2,
            cluster_id,
            5,
            {
                "category": "B",
                "children": [
                    {"age_band": "7-10", "sex": "girl"},
                    {"age_band": "14-15", "sex": "boy"},
                ],
            },
            RULES,
        )
    assert decision.outcome.value == "agreed"
    cluster = _cluster(db, cluster_id)
    assert cluster.state is ClusterState.final
    with db.read() as session:
        rep = service.get_item(session, cluster.media_id or 0)
        assert rep.status is service.MediaStatus.agreed
        assert rep.final_grade is not None and rep.final_grade.age_band is not None
        assert rep.final_grade.age_band.value == "7-10"  # the youngest child
        assert rep.final_grade.sex is not None and rep.final_grade.sex.value == "both"
        children = session.execute(select(func.count()).select_from(GradeChildRow)).scalar_one()
        assert children == 4
        members = {
            i.id: i
            for i in session.execute(
                select(CaseItemRow).where(CaseItemRow.id.in_([keep, also, odd]))
            ).scalars()
        }
        assert members[keep].grade_state == GradeState.propagated
        assert members[odd].grade_state is None and members[odd].cluster_id == odd
        propagated = session.get(MediaItemRow, members[keep].media_id)
        assert propagated is not None
        assert propagated.status == "agreed" and propagated.inherited_from == rep.id
        assert propagated.qa_sampled  # member_qa_share 1.0: every one drawn
        assert json.loads(propagated.final_grade or "{}")["category"] == "B"
        ready = {i.id for i in service.ready_for_hash_list(session)}
        assert {rep.id, members[keep].media_id, members[also].media_id} <= ready
    assert drain(db, settings) >= 1  # the events: lists follow, propagation finds nothing new


def test_undo_takes_back_confirm_split_and_grade(world: World) -> None:
    db = world.db
    cluster_id = _claim(world, world.g1)
    with db.write() as session:
        grading.grade(session, world.g1, cluster_id, 1, GRADE, RULES)
    first, second, _third = (m.item_id for m in _cluster(db, cluster_id).members)
    with db.write() as session:
        grading.confirm(session, world.g1, cluster_id, 2, first, RULES)
    with db.write() as session:
        grading.split(session, world.g1, cluster_id, 3, second)
    with db.write() as session:
        assert grading.undo(session, world.g1, cluster_id, 4) == "split"
    cluster = _cluster(db, cluster_id)
    assert cluster.size == 4 and second in [m.item_id for m in cluster.members]
    assert _count(db, ClusterRow) == 3
    with db.write() as session:
        assert grading.undo(session, world.g1, cluster_id, 5) == "confirm"
    with db.write() as session:
        assert grading.undo(session, world.g1, cluster_id, 6) == "grade"
    cluster = _cluster(db, cluster_id)
    assert cluster.state is ClusterState.open and cluster.graded_by is None
    assert all(m.state is None for m in cluster.members)
    assert _count(db, GradeRow) == 0
    with pytest.raises(Conflict, match="nothing of yours"), db.write() as session:
        grading.undo(session, world.g1, cluster_id, 7)


def test_a_senior_resolution_propagates_through_the_event(world: World, settings: Settings) -> None:
    db = world.db
    cluster_id = _claim(world, world.g1)
    with db.write() as session:
        grading.grade(session, world.g1, cluster_id, 1, GRADE, RULES)
    member = _cluster(db, cluster_id).members[0].item_id
    with db.write() as session:
        grading.confirm(session, world.g1, cluster_id, 2, member, RULES)
        grading.release(session, world.g1, cluster_id)
    with db.write() as session:
        assert grading.claim_next(session, world.g2, RULES, world.stores) == cluster_id
    with db.write() as session:
        outcome = grading.grade(
            session, world.g2, cluster_id, 3, {"category": "C", "age_band": "16-17"}, RULES
        )
    assert outcome.outcome.value == "disagreement"
    media_id = _cluster(db, cluster_id).media_id or 0
    with db.write() as session:
        grading_actions.resolve(
            session, world.senior, media_id, {"category": "B", "age_band": "7-10"}
        )
    assert _cluster(db, cluster_id).state is ClusterState.verifying
    drain(db, settings)
    assert _cluster(db, cluster_id).state is ClusterState.final
    with db.read() as session:
        item = session.get(CaseItemRow, member)
        assert item is not None and item.grade_state == GradeState.propagated
        assert item.media_id is not None

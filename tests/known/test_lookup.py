"""`hotline.known.lookup`: graded media and hash lists' entries, exact and PDQ, which answer
wins, what never matches, and an index that follows commits without being rebuilt."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from hotline import known
from hotline.db.engine import Database
from hotline.errors import InvalidInput
from hotline.grading import service
from hotline.grading.model import parse_grade
from hotline.grading.tables import MediaItemRow
from hotline.known import KnownHashes, KnownMatch
from hotline.known.index import index_for
from hotline.matching import store
from hotline.matching.model import NewEntry
from tests.known.support import (
    PDQ,
    PDQ_BEYOND,
    PDQ_EDGE,
    PDQ_FAR,
    PDQ_NEAR,
    add_media,
    digests,
    grade_alike,
    graded,
    graders,
    imported_list,
)


def look(db: Database, *items: KnownHashes, **options: int) -> list[KnownMatch | None]:
    with db.read() as session:
        return known.lookup(session, list(items), **options)


def by_pdq(pdq: str, quality: int = 90) -> KnownHashes:
    return KnownHashes(sha256=digests()[2], pdq=pdq, pdq_quality=quality)


def test_a_graded_item_is_known_by_its_bytes_and_by_pdq(db: Database) -> None:
    people = graders(db)
    original = graded(db, people, n=900, pdq=PDQ, category="A")
    md5, sha1, sha256 = digests(900)
    same, md5_only, sha1_only, near, edge, beyond, far = look(
        db,
        KnownHashes(sha256=sha256),
        KnownHashes(md5=md5),
        KnownHashes(sha1=sha1.upper()),  # digests are compared lower-cased
        by_pdq(PDQ_NEAR),
        by_pdq(PDQ_EDGE),
        by_pdq(PDQ_BEYOND),
        by_pdq(PDQ_FAR),
    )
    assert same == KnownMatch("grade", "A", 0, "sha256", media_id=original)
    assert md5_only is not None and md5_only.signal == "md5"
    assert sha1_only is not None and sha1_only.signal == "sha1"
    assert near == KnownMatch("grade", "A", 16, "pdq", media_id=original)
    assert edge is not None and edge.distance == 31
    assert beyond is None and far is None


def test_the_caller_may_ask_for_a_smaller_distance(db: Database) -> None:
    graded(db, graders(db), pdq=PDQ)
    (near,) = look(db, by_pdq(PDQ_NEAR), pdq_distance=15)
    (edge,) = look(db, by_pdq(PDQ_NEAR), pdq_distance=16)
    assert near is None
    assert edge is not None and edge.distance == 16


def test_the_callers_distance_applies_to_list_entries_too(db: Database) -> None:
    imported_list(db, "partner", [NewEntry("vics-1", pdq=PDQ, pdq_quality=90)])
    assert look(db, by_pdq(PDQ_NEAR), pdq_distance=15) == [None]
    (found,) = look(db, by_pdq(PDQ_NEAR), pdq_distance=16)
    assert found is not None and found.source == "list"


def test_an_item_that_is_no_longer_final_leaves_the_index(db: Database) -> None:
    media_id = graded(db, graders(db), n=905)
    assert look(db, KnownHashes(sha256=digests(905)[2]))[0] is not None
    with db.write() as session:  # e.g. a grade set aside for a new decision
        session.execute(
            update(MediaItemRow)
            .where(MediaItemRow.id == media_id)
            .values(status=service.MediaStatus.disagreement.value)
        )
    assert look(db, KnownHashes(sha256=digests(905)[2])) == [None]


def test_pdq_below_quality_50_never_matches(db: Database) -> None:
    people = graders(db)
    graded(db, people, pdq=PDQ)
    with db.write() as session:  # a graded item whose own PDQ is too weak to match on
        weak = add_media(session, pdq=PDQ_FAR, quality=49)
        grade_alike(session, weak, people)
    low, enough, weak_hit = look(
        db, by_pdq(PDQ_NEAR, quality=49), by_pdq(PDQ_NEAR, quality=50), by_pdq(PDQ_FAR)
    )
    assert low is None
    assert enough is not None and enough.signal == "pdq"
    assert weak_hit is None


def test_only_finally_graded_items_are_known(db: Database) -> None:
    people = graders(db)
    with db.write() as session:
        waiting = add_media(session, n=910, pdq=PDQ)
        split = add_media(session, n=911, pdq=PDQ_FAR)
        service.submit_grade(
            session,
            split,
            people[0],
            parse_grade({"category": "A", "age_band": "3-6"}),
            required=2,
            qa_share=0,
        )
        service.submit_grade(
            session,
            split,
            people[1],
            parse_grade({"category": "C", "age_band": "3-6"}),
            required=2,
            qa_share=0,
        )
        assert service.get_item(session, split).status is service.MediaStatus.disagreement
    assert look(db, KnownHashes(sha256=digests(910)[2]), by_pdq(PDQ_NEAR)) == [None, None]
    assert look(db, KnownHashes(sha256=digests(911)[2]), by_pdq(PDQ_FAR)) == [None, None]
    assert waiting and split


def test_an_imported_list_entry_is_known_with_its_provenance(db: Database) -> None:
    md5 = digests(920)[0]
    imported_list(
        db,
        "partner",
        [NewEntry("vics-1", md5=md5), NewEntry("vics-2", pdq=PDQ, pdq_quality=80)],
        source="vics:case-17.json",
    )
    by_md5, near = look(db, KnownHashes(md5=md5), by_pdq(PDQ_NEAR))
    assert by_md5 is not None and near is not None
    assert (by_md5.source, by_md5.category, by_md5.signal, by_md5.distance) == (
        "list",
        "vics-1",
        "md5",
        0,
    )
    assert (by_md5.list_name, by_md5.list_source, by_md5.media_id) == (
        "partner",
        "vics:case-17.json",
        None,
    )
    assert (near.category, near.signal, near.distance) == ("vics-2", "pdq", 16)
    assert by_md5.entry_id is not None and near.entry_id not in (None, by_md5.entry_id)


def test_a_list_entry_matches_within_the_lists_own_distance(db: Database) -> None:
    with db.write() as session:
        store.create_list(session, "strict", pdq_max_distance=10)
        store.add_entries(session, "strict", [NewEntry("A", pdq=PDQ, pdq_quality=90)])
    (near,) = look(db, by_pdq(PDQ_NEAR))
    assert near is None


def test_a_withdrawn_entry_never_matches(db: Database) -> None:
    md5 = digests(930)[0]
    imported_list(db, "partner", [NewEntry("ncmec", md5=md5)])
    (before,) = look(db, KnownHashes(md5=md5))
    assert before is not None and before.entry_id is not None
    with db.write() as session:
        assert store.withdraw_entries(session, "partner", [before.entry_id], "retracted") == 1
    assert look(db, KnownHashes(md5=md5)) == [None]


def test_exact_first_then_nearest_then_grades_before_lists(db: Database) -> None:
    people = graders(db)
    md5, _, sha256 = digests(940)
    listed_md5 = digests(941)[0]
    media_id = graded(db, people, n=940, pdq=PDQ)
    imported_list(
        db,
        "partner",
        [
            NewEntry("vics-1", sha256=sha256),  # the same bytes as the graded item
            NewEntry("vics-1", md5=listed_md5, pdq=PDQ_NEAR, pdq_quality=90),
        ],
    )
    tie, exact_list, nearer = look(
        db,
        KnownHashes(sha256=sha256),
        # Exact on the list beats the graded item's PDQ at distance 16.
        KnownHashes(md5=listed_md5, pdq=PDQ, pdq_quality=90),
        # PDQ only: the list entry is nearer (1 bit) than the graded item (15 bits).
        by_pdq("f" * 60 + "0001"),
    )
    assert tie is not None and (tie.source, tie.media_id) == ("grade", media_id)
    assert exact_list is not None and (exact_list.source, exact_list.signal) == ("list", "md5")
    assert nearer is not None and (nearer.source, nearer.distance) == ("list", 1)
    assert md5


def test_a_grade_committed_after_the_index_was_built_is_known_at_the_next_lookup(
    db: Database,
) -> None:
    people = graders(db)
    graded(db, people, pdq=PDQ_FAR)
    assert look(db, by_pdq(PDQ_NEAR)) == [None]  # the index is built here
    built = index_for_db(db)
    media_id = graded(db, people, pdq=PDQ)
    (found,) = look(db, by_pdq(PDQ_NEAR))
    assert found is not None and found.media_id == media_id
    assert index_for_db(db) is built  # kept current, not rebuilt


def test_a_list_import_after_the_index_was_built_is_known_at_the_next_lookup(
    db: Database,
) -> None:
    md5 = digests(950)[0]
    assert look(db, KnownHashes(md5=md5)) == [None]
    imported_list(db, "later", [NewEntry("stopncii", md5=md5)])
    (found,) = look(db, KnownHashes(md5=md5))
    assert found is not None and found.list_name == "later"


def test_the_calling_transactions_own_rows_are_not_taken_in(db: Database) -> None:
    """Uncommitted rows may roll back: a shared index that took them in would keep matching
    material nobody graded."""
    people = graders(db)
    assert look(db, by_pdq(PDQ_NEAR)) == [None]
    with pytest.raises(RuntimeError), db.write() as session:
        media_id = add_media(session, pdq=PDQ)
        grade_alike(session, media_id, people)
        assert known.lookup(session, [by_pdq(PDQ_NEAR)]) == [None]
        raise RuntimeError("roll back")
    assert look(db, by_pdq(PDQ_NEAR)) == [None]


def test_a_grade_change_moves_the_item_in_the_index(db: Database) -> None:
    """A final item whose grade is corrected is read again (its marker moves on)."""
    media_id = graded(db, graders(db), n=960, category="B")
    assert look(db, KnownHashes(sha256=digests(960)[2]))[0] == KnownMatch(
        "grade", "B", 0, "sha256", media_id=media_id
    )
    with db.write() as session:
        session.execute(
            update(MediaItemRow)
            .where(MediaItemRow.id == media_id)
            .values(final_grade='{"age_band": "11-13", "category": "A"}')
        )
    (found,) = look(db, KnownHashes(sha256=digests(960)[2]))
    assert found is not None and found.category == "A"


def test_bad_hashes_are_refused_before_anything_is_searched(db: Database) -> None:
    with pytest.raises(InvalidInput) as refused:
        look(
            db,
            KnownHashes(sha256="zz"),
            KnownHashes(md5="0" * 32),
            KnownHashes(pdq="f" * 63, pdq_quality=101),
        )
    fields = {f.field for f in refused.value.fields}
    assert fields == {"items[0].sha256", "items[2].pdq", "items[2].pdq_quality"}
    with pytest.raises(InvalidInput):
        look(db, KnownHashes(md5="0" * 32), pdq_distance=64)
    assert look(db) == []


def index_for_db(db: Database) -> object:
    with db.read() as session:
        return index_for(session)

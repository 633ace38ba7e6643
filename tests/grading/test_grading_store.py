"""Grading storage: independent grades, visibility, seniors, known matches, media at rest,
and the viewing-time accounting behind the daily cap and break prompts."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from hotline.db.base import utcnow
from hotline.db.engine import Database
from hotline.errors import Conflict, Forbidden, InvalidInput
from hotline.grading import service, wellbeing
from hotline.grading.consensus import Outcome
from hotline.grading.media_store import MediaStore, MediaUnavailable
from hotline.grading.model import parse_grade
from hotline.security import users

PDQ_A = "f" * 64
PDQ_NEAR = "f" * 60 + "0000"  # 16 bits away
PDQ_FAR = "0" * 64


def hashes(n: int, pdq: str | None = None, quality: int | None = 90) -> service.MediaHashesIn:
    return service.MediaHashesIn(f"{n:032x}", f"{n:040x}", f"{n:064x}", pdq, quality)


def add(db: Database, n: int, pdq: str | None = None, quality: int | None = 90) -> int:
    with db.write() as session:
        return service.register_media(
            session,
            url_id=None,
            source_url=f"https://gallery.example/{n}.png",
            kind="image",
            hashes=hashes(n, pdq, quality),
            byte_count=10,
            stored=True,
            purge_after=None,
        ).id


@pytest.fixture
def people(db: Database) -> dict[str, int]:
    with db.write() as session:
        return {
            name: users.create_user(session, name, "a long enough password", [role]).id
            for name, role in [
                ("ana", "analyst"),
                ("ben", "analyst"),
                ("cy", "analyst"),
                ("sam", "senior_analyst"),
            ]
        }


def grade(
    db: Database, media_id: int, user_id: int, category: str, age: str = "7-10", required: int = 2
) -> Outcome:
    with db.write() as session:
        return service.submit_grade(
            session,
            media_id,
            user_id,
            parse_grade({"category": category, "age_band": age}),
            required=required,
            qa_share=0,
        ).outcome


def test_grades_are_blind_until_your_own_is_in(db: Database, people: dict[str, int]) -> None:
    item = add(db, 1)
    assert grade(db, item, people["ana"], "B") is Outcome.waiting
    with db.read() as session:
        assert service.grades_visible_to(session, item, people["ben"], senior=False) == []
        assert len(service.grades_visible_to(session, item, people["sam"], senior=True)) == 1
        assert [i.id for i in service.to_grade(session, people["ana"])] == []
        assert [i.id for i in service.to_grade(session, people["ben"])] == [item]
    with pytest.raises(Conflict, match="already graded"):
        grade(db, item, people["ana"], "B")
    assert grade(db, item, people["ben"], "B") is Outcome.agreed
    with pytest.raises(Conflict, match="no longer waiting"):
        grade(db, item, people["cy"], "B")


def test_three_person_verification(db: Database, people: dict[str, int]) -> None:
    item = add(db, 2)
    assert grade(db, item, people["ana"], "C", required=3) is Outcome.waiting
    assert grade(db, item, people["ben"], "C", required=3) is Outcome.waiting
    assert grade(db, item, people["cy"], "C", required=3) is Outcome.agreed


def test_senior_resolves_but_not_their_own_disagreement(
    db: Database, people: dict[str, int]
) -> None:
    item = add(db, 3)
    grade(db, item, people["ana"], "A")
    assert grade(db, item, people["ben"], "C") is Outcome.disagreement
    with pytest.raises(Conflict), db.write() as session:
        service.resolve(
            session, add(db, 4), people["sam"], parse_grade({"category": "C", "age_band": "7-10"})
        )
    with db.write() as session:
        service.resolve(
            session, item, people["sam"], parse_grade({"category": "B", "age_band": "7-10"})
        )
        assert service.get_item(session, item).status is service.MediaStatus.resolved


def test_senior_who_graded_cannot_resolve(db: Database, people: dict[str, int]) -> None:
    item = add(db, 5)
    grade(db, item, people["sam"], "A")
    grade(db, item, people["ana"], "C")
    with pytest.raises(Forbidden), db.write() as session:
        service.resolve(
            session, item, people["sam"], parse_grade({"category": "A", "age_band": "7-10"})
        )


def test_an_item_inherits_only_what_the_caller_found(db: Database, people: dict[str, int]) -> None:
    """Grading records what `hotline.known.lookup` found (tests/known); it no longer looks
    for known material itself, so the same bytes registered bare wait for graders."""
    original = add(db, 6, PDQ_A)
    grade(db, original, people["ana"], "B")
    grade(db, original, people["ben"], "B")
    same_bytes = add(db, 6, PDQ_NEAR)
    with db.write() as session:
        inherited = service.register_media(
            session,
            url_id=None,
            source_url="https://gallery.example/7.png",
            kind="image",
            hashes=hashes(7, PDQ_NEAR),
            byte_count=10,
            stored=True,
            purge_after=None,
            inherited=service.Inherited(
                "B", parse_grade({"category": "B", "age_band": "7-10"}), media_id=original
            ),
        )
    with db.read() as session:
        bare = service.get_item(session, same_bytes)
    assert bare.status is service.MediaStatus.awaiting_grades
    assert inherited.status is service.MediaStatus.known_match
    assert inherited.inherited_from == original and not inherited.stored
    assert inherited.final_grade is not None and inherited.final_grade.category.value == "B"


def test_media_store_seals_binds_and_purges(tmp_path: Path, db: Database) -> None:
    store = MediaStore(tmp_path / "media", b"k" * 40)
    first, second = add(db, 10), add(db, 11)
    store.put(first, b"benign bytes one")
    store.put(second, b"benign bytes two")
    on_disk = store._path(first).read_bytes()
    assert b"benign" not in on_disk
    assert store.get(first) == b"benign bytes one"
    # Swapping two files on disk makes both unreadable rather than showing the wrong item.
    a, b = store._path(first), store._path(second)
    a_bytes, b_bytes = a.read_bytes(), b.read_bytes()
    a.write_bytes(b_bytes)
    b.write_bytes(a_bytes)
    with pytest.raises(MediaUnavailable):
        store.get(first)
    with pytest.raises(MediaUnavailable):
        MediaStore(tmp_path / "media", b"other key" * 5).get(second)
    with db.write() as session:
        from hotline.grading.tables import MediaItemRow

        session.get(MediaItemRow, first).purge_after = utcnow() - timedelta(days=1)  # type: ignore[union-attr]
    with db.write() as session:
        assert store.purge_expired(session, utcnow()) == 1
    assert not a.exists()
    with db.read() as session:
        assert not service.get_item(session, first).stored


def test_exposure_cap_and_breaks(db: Database, people: dict[str, int]) -> None:
    user = people["ana"]

    def now_exposure() -> wellbeing.Exposure:
        with db.read() as session:
            return wellbeing.exposure(session, user, cap_minutes=120, break_every_minutes=60)

    with db.write() as session:
        wellbeing.charge(session, user, "reveal", 59 * 60)
    assert not now_exposure().break_due and not now_exposure().capped
    with db.write() as session:
        wellbeing.charge(session, user, "thumbnails", 120)
    assert now_exposure().break_due
    with db.write() as session:
        wellbeing.take_break(session, user)
    assert not now_exposure().break_due and now_exposure().breaks_today == 1
    with db.write() as session:
        wellbeing.charge(session, user, "reveal", 60 * 60)
    exposure = now_exposure()
    assert exposure.capped and exposure.minutes_left == 0 and exposure.reveals_today == 2


@pytest.mark.parametrize("value", ["0", "3", "41", "soft", ""])
def test_blur_cannot_be_switched_off(db: Database, people: dict[str, int], value: str) -> None:
    with pytest.raises(InvalidInput), db.write() as session:
        wellbeing.set_blur_strength(session, people["ana"], value)
    with db.write() as session:
        assert wellbeing.set_blur_strength(session, people["ana"], "20") == 20
        assert wellbeing.blur_strength(session, people["ana"], 12) == 20
        assert wellbeing.blur_strength(session, people["ben"], 12) == 12


def test_the_count_to_grade_stops_at_its_limit(db: Database, people: dict[str, int]) -> None:
    first = add(db, 901)
    for n in (902, 903, 904):
        add(db, n)
    grade(db, first, people["ana"], "C")
    with db.read() as session:
        assert service.count_to_grade(session, people["ana"]) == 3  # her graded one is not
        assert service.count_to_grade(session, people["ben"]) == 4
        assert service.count_to_grade(session, people["ben"], limit=2) == 2
        assert service.count_to_grade(session, people["ben"], limit=10) == 4

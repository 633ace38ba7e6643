"""The graded-media feed: numbers drawn before commit (PostgreSQL) may commit out of order, so
a missing number is asked for again until it shows up or times out; a table that went
backwards (a restore) is loaded again. And lookups from many threads while grades commit."""

from __future__ import annotations

import random
import threading

from sqlalchemy import update

from hotline import known
from hotline.db.engine import Database
from hotline.grading.tables import MediaItemRow
from hotline.known import KnownHashes
from hotline.known.grades import GAP_SECONDS, GradeFeed
from tests.known.support import add_media, grade_alike, graded, graders


def finalise_as(db: Database, media_id: int, seq: int) -> None:
    """Make an item final, then give it marker `seq`: a transaction that drew `seq` earlier
    and commits only now."""
    with db.write() as session:
        session.execute(
            update(MediaItemRow)
            .where(MediaItemRow.id == media_id)
            .values(status="agreed", final_grade='{"age_band": "3-6", "category": "C"}')
        )
        session.execute(
            update(MediaItemRow).where(MediaItemRow.id == media_id).values(known_seq=seq)
        )


def test_a_number_that_commits_late_is_still_read(db: Database) -> None:
    people = graders(db)
    graded(db, people)
    clock = [0.0]
    feed = GradeFeed(track_gaps=True, clock=lambda: clock[0])
    blind = GradeFeed(track_gaps=False)
    with db.read() as session:
        assert len(feed.load(session)) == 1 and len(blind.load(session)) == 1
    start = feed.applied
    with db.write() as session:
        late, early, lost = (add_media(session) for _ in range(3))
    finalise_as(db, early, start + 2)  # commits first, with the higher number
    with db.read() as session:
        assert [i.id for i in feed.poll(session) or []] == [early]
        assert [i.id for i in blind.poll(session) or []] == [early]
    assert start + 1 in feed.gaps and start + 2 not in feed.gaps
    finalise_as(db, late, start + 1)
    finalise_as(db, lost, start + 4)
    with db.read() as session:
        assert {i.id for i in feed.poll(session) or []} == {late, lost}
        assert [i.id for i in blind.poll(session) or []] == [lost]  # `late` is missed
    assert start + 3 in feed.gaps and start + 1 not in feed.gaps
    clock[0] = GAP_SECONDS + 1  # a rolled-back transaction's number never comes
    with db.read() as session:
        assert feed.poll(session) == []
    assert feed.gaps == {}


def test_a_table_that_went_backwards_is_loaded_again(db: Database) -> None:
    media_id = graded(db, graders(db), n=8100)
    sha256 = f"{8100:064x}"
    with db.read() as session:
        assert known.lookup(session, [KnownHashes(sha256=sha256)])[0] is not None
    with db.write() as session:  # as after a restore of an older backup
        session.execute(update(MediaItemRow).values(known_seq=None))
    feed = GradeFeed(track_gaps=False)
    feed.applied = 5
    with db.read() as session:
        assert feed.poll(session) is None
        # The shared index reloads: nothing is numbered now, so nothing is known.
        assert known.lookup(session, [KnownHashes(sha256=sha256)]) == [None]
    finalise_as(db, media_id, 1)
    with db.read() as session:
        assert known.lookup(session, [KnownHashes(sha256=sha256)])[0] is not None


def test_lookups_from_many_threads_while_grades_commit(db: Database) -> None:
    people = graders(db)
    rng = random.Random(12)
    pdqs = [f"{rng.getrandbits(256):064x}" for _ in range(12)]  # ~128 bits apart
    queries = [KnownHashes(pdq=p, pdq_quality=90) for p in pdqs]
    stop = threading.Event()
    errors: list[BaseException] = []
    seen: list[set[int]] = []

    def reader() -> None:
        found: set[int] = set()
        seen.append(found)
        try:
            while not stop.is_set():
                with db.read() as session:
                    answers = known.lookup(session, queries)
                now = {i for i, a in enumerate(answers) if a is not None}
                assert found <= now, "a known item was forgotten"
                found |= now
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        for pdq in pdqs:
            with db.write() as session:
                media_id = add_media(session, pdq=pdq)
                grade_alike(session, media_id, people)
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    assert errors == []
    with db.read() as session:
        assert all(a is not None for a in known.lookup(session, queries))
    assert len(seen) == 4

"""`from_grades.sync`: verified grades join a hash list once, and only in the list's
categories (benign synthetic hashes; no media)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from hotline.db.engine import Database
from hotline.grading import service
from hotline.grading.model import parse_grade
from hotline.lists import from_grades
from hotline.lists import store as lists_store
from hotline.lists.model import ListConfig
from hotline.matching import store
from hotline.matching.tables import HashListEntryRow
from hotline.security import users

RNG = np.random.default_rng(20260106)


def hex_digits(n: int) -> str:
    return bytes(RNG.integers(0, 256, n // 2, dtype=np.uint8)).hex()


def grade_alike(session: Session, item_id: int, graders: list[Any], category: str) -> None:
    """Every grader gives `category` (two of them agree: the item is verified)."""
    for grader in graders:
        service.submit_grade(
            session,
            item_id,
            grader.id,
            parse_grade({"category": category, "age_band": "11-13"}),
            required=2,
            qa_share=0,
        )


def verified_items(db: Database, categories: list[str]) -> list[int]:
    """One item per category, graded alike by two graders (so agreed, ready for lists)."""
    with db.write() as session:
        graders = [
            users.create_user(session, f"grader{i}", "a long enough password", ["analyst"])
            for i in (1, 2)
        ]
        ids = []
        for category in categories:
            item = service.register_media(
                session,
                url_id=None,
                source_url="https://example.org/drawn.png",
                kind="image",
                hashes=service.MediaHashesIn(
                    hex_digits(32), hex_digits(40), hex_digits(64), hex_digits(64), 90
                ),
                byte_count=100,
                stored=False,
                purge_after=None,
            )
            grade_alike(session, item.id, graders, category)
            ids.append(item.id)
    return ids


def listed_media(db: Database, name: str) -> dict[int, str]:
    with db.read() as session:
        info = store.get_list(session, name)
        rows = session.execute(
            HashListEntryRow.__table__.select().where(HashListEntryRow.list_id == info.id)
        ).all()
    return {r.media_id: r.category for r in rows}


def test_only_the_lists_categories_join(db: Database) -> None:
    a, b, c, fine = verified_items(db, ["A", "B", "C", "not_illegal"])
    with db.write() as session:
        store.create_list(session, "a-only")
        lists_store.set_config(session, "a-only", ListConfig.parse({"categories": ["A"]}))
        result = from_grades.sync(session, "a-only")
    assert (result.added, result.already, result.version) == (1, 0, 1)
    assert listed_media(db, "a-only") == {a: "A"}

    # Nothing new in its categories: no new version, and B and C still stay out.
    with db.write() as session:
        again = from_grades.sync(session, "a-only")
    assert (again.added, again.already, again.version) == (0, 1, 1)
    assert listed_media(db, "a-only") == {a: "A"}

    # Widened to A and C: C joins, A is not added twice, B (and not illegal) stay out.
    with db.write() as session:
        lists_store.set_config(session, "a-only", ListConfig.parse({"categories": ["A", "C"]}))
        widened = from_grades.sync(session, "a-only")
    assert (widened.added, widened.already) == (1, 1)
    assert listed_media(db, "a-only") == {a: "A", c: "C"}
    assert b not in listed_media(db, "a-only") and fine not in listed_media(db, "a-only")


def test_a_verified_video_joins_with_its_vpdq(db: Database) -> None:
    """Capture's hashes of a video (through MediaHashesIn.of, as the pipeline stores them)
    reach the list entry, so a re-encoded copy can match by vPDQ."""
    from hotline.hashing import hash_bytes
    from hotline.matching.model import vpdq_of
    from tests.hashing.test_vpdq import moving_gradient_video

    video = moving_gradient_video("mp4", "libx264")
    hashes = hash_bytes(video)
    assert hashes.kind == "video" and len(hashes.vpdq) == 12
    with db.write() as session:
        graders = [
            users.create_user(session, f"vgrader{i}", "a long enough password", ["analyst"])
            for i in (1, 2)
        ]
        item = service.register_media(
            session,
            url_id=None,
            source_url="https://example.org/drawn.mp4",
            kind="video",
            hashes=service.MediaHashesIn.of(hashes),
            byte_count=len(video),
            stored=False,
            purge_after=None,
        )
        grade_alike(session, item.id, graders, "B")
        store.create_list(session, "videos")
        assert from_grades.sync(session, "videos").added == 1
    with db.read() as session:
        entry = session.scalars(
            HashListEntryRow.__table__.select().where(HashListEntryRow.media_id == item.id)
        ).one()
        row = session.get(HashListEntryRow, entry)
        assert row is not None and row.pdq is None
        assert vpdq_of(row.value) == tuple(hashes.vpdq)

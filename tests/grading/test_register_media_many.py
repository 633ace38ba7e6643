"""`register_media_many`: a page's items in one INSERT and their plug-in signals in one more,
each item recorded as `register_media` records it (which is one item of it), in order."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event, select

from hotline.db.base import utcnow
from hotline.db.engine import Database
from hotline.grading import media_signals, service
from hotline.grading.model import parse_grade
from hotline.grading.tables import MediaItemRow
from tests.grading.test_grading_store import add, grade, hashes, people

__all__ = ["people"]


def _item(n: int, inherited: service.Inherited | None = None) -> service.MediaIn:
    signals = {"dhash": f"{n:016x}"} if n % 2 else {}
    plain = hashes(n, "f" * 64)
    return service.MediaIn(
        url_id=None,
        source_url=f"https://gallery.example/{n}.png",
        kind="image",
        hashes=service.MediaHashesIn(
            plain.md5, plain.sha1, plain.sha256, plain.pdq, plain.pdq_quality, signals=signals
        ),
        byte_count=100 + n,
        stored=True,
        purge_after=utcnow() + timedelta(days=30),
        inherited=inherited,
    )


def test_many_items_in_order_known_ones_final_and_never_kept(
    db: Database, people: dict[str, int]
) -> None:
    original = add(db, 1)
    grade(db, original, people["ana"], "B")
    grade(db, original, people["ben"], "B")
    known = service.Inherited(
        "B", parse_grade({"category": "B", "age_band": "7-10"}), media_id=original
    )
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_rest) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    engine = db.writer
    event.listen(engine, "before_cursor_execute", count)
    try:
        with db.write() as session:
            made = service.register_media_many(
                session, [_item(11), _item(12, known), _item(13), _item(14)]
            )
    finally:
        event.remove(engine, "before_cursor_execute", count)
    inserts = [s for s in statements if s.lstrip().upper().startswith("INSERT")]
    assert len(inserts) == 2  # the items, then the signals of items 11 and 13
    assert [m.source_url.rsplit("/", 1)[1] for m in made] == [
        "11.png",
        "12.png",
        "13.png",
        "14.png",
    ]
    by_id = {m.id: m for m in made}
    with db.read() as session:
        for m in made:
            again = service.get_item(session, m.id)
            assert again == by_id[m.id]  # what came back is what is stored
            assert media_signals.signals_of(session, m.id) == _item(int(m.md5, 16)).hashes.signals
        purge = dict(session.execute(select(MediaItemRow.id, MediaItemRow.purge_after)).all())
        sizes = (
            session.execute(
                select(MediaItemRow.byte_count)
                .where(MediaItemRow.id.in_(list(by_id)))
                .order_by(MediaItemRow.id)
            )
            .scalars()
            .all()
        )
    assert sizes == [111, 112, 113, 114]
    first, known_item, third, _fourth = made
    assert first.status is service.MediaStatus.awaiting_grades and first.stored
    assert known_item.status is service.MediaStatus.known_match
    assert known_item.inherited_from == original and not known_item.stored
    assert known_item.final_grade is not None and known_item.final_grade.category.value == "B"
    assert purge[known_item.id] is None and purge[first.id] is not None
    assert third.status is service.MediaStatus.awaiting_grades


def test_nothing_to_register_writes_nothing(db: Database) -> None:
    with db.write() as session:
        assert service.register_media_many(session, []) == []
    with db.read() as session:
        assert session.execute(select(MediaItemRow.id)).first() is None

"""Known material for the tests: graded media and hash lists, made through the stores the
application uses. Hashes are made up (benign, never any real image's)."""

from __future__ import annotations

import itertools

from sqlalchemy import update
from sqlalchemy.orm import Session

from hotline.db.engine import Database
from hotline.grading import service
from hotline.grading.model import parse_grade
from hotline.matching import store
from hotline.matching.model import NewEntry
from hotline.matching.tables import HashListRow
from hotline.security import users

_counter = itertools.count(1)

PDQ = "f" * 64
PDQ_NEAR = "f" * 60 + "0000"  # 16 bits from PDQ
PDQ_EDGE = "f" * 56 + "0000000" + "1"  # 31 bits from PDQ
PDQ_BEYOND = "f" * 56 + "00000000"  # 32 bits from PDQ
PDQ_FAR = "0" * 64


def digests(n: int | None = None) -> tuple[str, str, str]:
    """Made-up md5, sha1 and sha256 hex digests, different for each n."""
    n = next(_counter) if n is None else n
    return f"{n:032x}", f"{n:040x}", f"{n:064x}"


def add_media(
    session: Session,
    *,
    n: int | None = None,
    pdq: str | None = None,
    quality: int | None = 90,
) -> int:
    md5, sha1, sha256 = digests(n)
    return service.register_media(
        session,
        url_id=None,
        source_url="https://gallery.example/drawn.png",
        kind="image",
        hashes=service.MediaHashesIn(md5, sha1, sha256, pdq, quality),
        byte_count=10,
        stored=False,
        purge_after=None,
    ).id


def graders(db: Database) -> list[int]:
    with db.write() as session:
        return [
            users.create_user(session, f"grader{i}", "a long enough password", ["analyst"]).id
            for i in (1, 2)
        ]


def grade_alike(session: Session, media_id: int, by: list[int], category: str = "B") -> None:
    """Two graders agree: the item is finally graded."""
    for grader in by:
        service.submit_grade(
            session,
            media_id,
            grader,
            parse_grade({"category": category, "age_band": "11-13"}),
            required=2,
            qa_share=0,
        )


def graded(
    db: Database,
    by: list[int],
    *,
    n: int | None = None,
    pdq: str | None = None,
    category: str = "B",
) -> int:
    with db.write() as session:
        media_id = add_media(session, n=n, pdq=pdq)
        grade_alike(session, media_id, by, category)
    return media_id


def imported_list(
    db: Database, name: str, entries: list[NewEntry], source: str | None = "csv:partner.csv"
) -> None:
    """A hash list as `hotline lists import` leaves it: entries, and the list's provenance."""
    with db.write() as session:
        store.create_list(session, name)
        store.add_entries(session, name, entries)
        session.execute(update(HashListRow).where(HashListRow.name == name).values(source=source))

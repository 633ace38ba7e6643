"""Where an item was found, stored as host and site domain (migration 0030): filled from the
address by every insert (the table's defaults) and, for items already there, by the
migration. Both databases (the `db` fixture)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, select, text

from hotline.db import migrate
from hotline.db.engine import Database
from hotline.grading.tables import MediaItemRow, source_place

T0 = datetime(2026, 3, 1, tzinfo=UTC)
PLACES = {
    "https://www.Example.com:8443/a.png": ("example.com", "example.com"),
    "https://www.shop.example.com/f.png": ("shop.example.com", "example.com"),
    "http://shop.example.co.uk/b.png": ("shop.example.co.uk", "example.co.uk"),
    "https://bücher.example/c.png": ("xn--bcher-kva.example", "xn--bcher-kva.example"),
    "http://192.0.2.7:8080/d.png": ("192.0.2.7", "192.0.2.7"),
    "taskforce:set-1/12": (None, None),
}


def _values(i: int, url: str) -> dict[str, object]:
    return {
        "id": i,
        "source_url": url,
        "kind": "image",
        "md5": "0" * 32,
        "sha1": "0" * 40,
        "sha256": f"{i:064x}",
        "byte_count": 1,
        "status": "awaiting_grades",
        "stored": False,
        "qa_sampled": False,
        "created_at": T0,
    }


def _places(db: Database) -> dict[str, tuple[str | None, str | None]]:
    with db.read() as session:
        rows = session.execute(
            select(MediaItemRow.source_url, MediaItemRow.source_host, MediaItemRow.source_domain)
        ).all()
    return {url: (host, domain) for url, host, domain in rows}


@pytest.mark.parametrize(("url", "place"), PLACES.items())
def test_source_place(url: str, place: tuple[str | None, str | None]) -> None:
    assert source_place(url) == place


def test_every_insert_fills_the_place(db: Database) -> None:
    with db.write() as session:
        # Several rows in one statement (as grading.service registers a page's media) and
        # one ORM object (as the demo history adds them): each row reads its own address.
        session.execute(
            insert(MediaItemRow), [_values(i, url) for i, url in enumerate(PLACES, start=1)]
        )
        session.add(MediaItemRow(**_values(9, "https://x.example.org/e.png")))
    orm = {"https://x.example.org/e.png": ("x.example.org", "example.org")}
    assert _places(db) == {**PLACES, **orm}


def test_the_migration_fills_items_already_there(db: Database) -> None:
    migrate.downgrade(db, "0029_staff_lists_indexes")
    names = list(_values(0, ""))
    # Plain SQL: the model now has columns this revision's table lacks.
    statement = text(
        f"INSERT INTO media_items ({', '.join(names)}) VALUES ({', '.join(':' + c for c in names)})"
    )
    with db.write() as session:
        for i, url in enumerate(PLACES, start=1):
            session.execute(statement, _values(i, url))
    migrate.upgrade(db)
    assert _places(db) == PLACES

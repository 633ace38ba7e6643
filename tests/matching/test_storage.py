"""Tables agree with migration 0003, which downgrades cleanly; lists and versions."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from hotline.db import migrate
from hotline.db.engine import Database
from hotline.db.models import Base
from hotline.errors import Conflict, InvalidInput, NotFound
from hotline.matching import store, tables  # noqa: F401 - registers the tables
from tests.matching.helpers import add, entry, entry_ids, make_list

MATCH_TABLES = {"members", "member_keys", "hash_lists", "hash_list_entries"}


def _ours(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    table = obj if type_ == "table" else getattr(obj, "table", None)
    return getattr(table, "name", None) in MATCH_TABLES


def test_tables_agree_with_the_migrations(db: Database) -> None:
    """Our four tables only (tests/foundation checks the whole schema)."""
    with db.writer.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "include_name": lambda name, type_, parent: (
                    type_ != "table" or name in MATCH_TABLES
                ),
                "include_object": _ours,
            },
        )
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_downgrade_removes_the_tables_and_upgrade_restores_them(db: Database) -> None:
    migrate.downgrade(db, "0002_advice_hub")
    assert not MATCH_TABLES & set(inspect(db.writer).get_table_names())
    migrate.upgrade(db)
    assert set(inspect(db.writer).get_table_names()) >= MATCH_TABLES


def test_every_change_is_one_new_version(db: Database) -> None:
    make_list(db, "alpha", description="test list")
    assert (
        add(db, "alpha", [entry(md5="1" * 32, category="A"), entry(md5="2" * 32, category="B")])
        == 1
    )
    assert add(db, "alpha", [entry(pdq="3" * 64, category="C")]) == 2
    with db.write() as session:
        assert store.withdraw_entries(session, "alpha", entry_ids(db, "alpha")[:1]) == 1
        assert store.withdraw_entries(session, "alpha", [999]) == 0
    with db.read() as session:
        info = store.get_list(session, "alpha")
        changed = list(store.changed_entries(session, info.id, 2, info.version))
        everything_live = list(store.changed_entries(session, info.id, 0, info.version))
    assert (info.version, info.entries, info.description) == (4, 2, "test list")
    assert [e.withdrawn for e in changed] == [True]
    assert [e.md5 or e.pdq for e in everything_live] == ["2" * 32, "3" * 64]


def test_list_names_and_settings_are_checked(db: Database) -> None:
    make_list(db, "alpha")
    with pytest.raises(Conflict), db.write() as session:
        store.create_list(session, "alpha")
    for bad in ["", "Has Spaces", "x" * 65, "-lead"]:
        with pytest.raises(InvalidInput), db.write() as session:
            store.create_list(session, bad)
    with pytest.raises(InvalidInput), db.write() as session:
        store.create_list(session, "far", pdq_max_distance=64)
    with pytest.raises(NotFound), db.write() as session:
        store.add_entries(session, "missing", [entry(md5="1" * 32, category="A")])


@pytest.mark.parametrize(
    ("record", "fields"),
    [
        ({"category": "A"}, ["md5"]),
        ({"md5": "xyz", "category": "A"}, ["md5"]),
        ({"pdq": "0" * 64}, ["category"]),
        ({"pdq": "0" * 64, "category": ""}, ["category"]),
        ({"pdq": "0" * 64, "category": "A", "pdq_quality": 101}, ["pdq_quality"]),
        ({"pdq": "0" * 64, "category": "A", "pdq_quality": True}, ["pdq_quality"]),
        ({"sha1": "0" * 40, "category": "A", "url": "x"}, ["url"]),
    ],
)
def test_entry_validation_names_each_problem(record: dict, fields: list[str]) -> None:
    with pytest.raises(InvalidInput) as raised:
        entry(**record)
    assert [f.field for f in raised.value.fields] == fields


def test_entries_are_normalised() -> None:
    made = entry(md5="AB" * 16, category="Other label")
    assert made.md5 == "ab" * 16 and made.category == "Other label"

"""Keys: format, storage as a hash only, constant-time verification, the one scope check."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select, text

from hotline.db.base import utcnow
from hotline.db.engine import Database
from hotline.errors import Forbidden, NotFound
from hotline.matching import keys, store
from hotline.matching.service import KeyLookup
from hotline.matching.tables import MemberKeyRow
from tests.matching.helpers import make_key, make_list


def test_issued_keys_have_a_public_prefix_and_256_random_bits() -> None:
    issued = keys.issue()
    assert re.fullmatch(r"hlk_[0-9a-f]{12}_[0-9a-f]{64}", issued.key)
    assert keys.prefix_of(issued.key) == issued.prefix
    assert issued.key_sha256 == keys.hash_key(issued.key) and issued.key not in issued.key_sha256
    assert keys.issue().key != issued.key


@pytest.mark.parametrize(
    "presented",
    [
        "",
        "hlk_",
        "hlk_abc_def",
        "HLK_" + "0" * 12 + "_" + "0" * 64,
        "hlk_" + "0" * 12 + "_" + "0" * 63 + "g",
    ],
)
def test_malformed_keys_have_no_prefix(presented: str) -> None:
    assert keys.prefix_of(presented) is None


def test_verify() -> None:
    issued = keys.issue()
    assert keys.verify(issued.key, issued.key_sha256)
    assert not keys.verify(issued.key[:-1] + "x", issued.key_sha256)
    assert not keys.verify(issued.key, None)  # unknown prefix: same work, still refused
    assert not keys.verify(keys.issue().key, issued.key_sha256)


def test_searchable_lists_is_the_scope_check() -> None:
    assert keys.searchable_lists(["b", "a", "a"]) == ["a", "b"]
    assert keys.searchable_lists(["a", "b"], ["b"]) == ["b"]
    with pytest.raises(Forbidden) as refused:
        keys.searchable_lists(["a"], ["a", "secret"])
    assert [f.field for f in refused.value.fields] == ["list"]


def test_only_the_hash_of_a_key_is_stored(db: Database) -> None:
    make_list(db, "alpha")
    key = make_key(db, "m", ["alpha"])
    with db.read() as session:
        row = session.execute(select(MemberKeyRow)).scalar_one()
    assert row.key_sha256 == keys.hash_key(key)
    stored = " ".join(str(getattr(row, c.key)) for c in MemberKeyRow.__table__.columns)
    assert key.split("_")[2] not in stored


def test_keys_need_existing_lists_and_members(db: Database) -> None:
    make_list(db, "alpha")
    with db.write() as session:
        store.create_member(session, "m")
    with pytest.raises(NotFound), db.write() as session:
        store.create_key(session, "m", ["alpha", "missing"])
    with pytest.raises(NotFound), db.write() as session:
        store.create_key(session, "nobody", ["alpha"])


def test_revoke_and_list_keys(db: Database) -> None:
    make_list(db, "alpha")
    key = make_key(db, "m", ["alpha"])
    prefix = keys.prefix_of(key)
    assert prefix
    with db.write() as session:
        revoked = store.revoke_key(session, f"hlk_{prefix}")
        again = store.revoke_key(session, prefix)
    assert revoked.revoked_at is not None and again.revoked_at == revoked.revoked_at
    with db.read() as session:
        (info,) = store.list_keys(session, "m")
        stored = store.find_key(session, prefix)
    assert info.prefix == prefix and info.scopes == ("alpha",)
    assert stored is not None and stored.revoked
    with pytest.raises(NotFound), db.write() as session:
        store.revoke_key(session, "000000000000")


def test_key_lookup_reads_what_find_key_reads(db: Database) -> None:
    """The API's bare-cursor lookup agrees with the ORM store, dates and revocation included."""
    make_list(db, "alpha")
    make_list(db, "beta")
    key = make_key(db, "m", ["alpha", "beta"])
    prefix = keys.prefix_of(key)
    assert prefix
    lookup = KeyLookup(db)
    assert lookup.find("0" * 12) is None

    def both() -> tuple[store.StoredKey | None, store.StoredKey | None]:
        with db.read() as session:
            return lookup.find(prefix), store.find_key(session, prefix)

    fresh, expected = both()
    assert fresh == expected and fresh is not None and fresh.last_used_at is None
    assert fresh.scopes == ("alpha", "beta") and not fresh.revoked
    with db.write() as session:
        store.touch_key(session, fresh.id, utcnow())
    used, expected = both()
    assert used == expected and used is not None and used.last_used_at is not None
    assert used.last_used_at.tzinfo is not None
    with db.write() as session:
        store.revoke_key(session, prefix)
    revoked, expected = both()
    assert revoked == expected and revoked is not None and revoked.revoked


def test_key_lookup_survives_a_dropped_connection(db: Database) -> None:
    """A database restart leaves pooled connections dead: the lookup retries on a new one."""
    make_list(db, "alpha")
    key = make_key(db, "m", ["alpha"])
    prefix = keys.prefix_of(key)
    assert prefix
    lookup = KeyLookup(db)
    assert lookup.find(prefix) is not None
    if db.is_sqlite:
        return  # no server to drop connections; the PostgreSQL run checks this
    pool_pids = set()
    for _ in range(3):
        conn = db.autocommit_reader.raw_connection()
        pool_pids.add(conn.driver_connection.info.backend_pid)
        conn.close()
    with db.writer.begin() as admin:
        for pid in pool_pids:
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    found = lookup.find(prefix)
    assert found is not None and found.prefix == prefix

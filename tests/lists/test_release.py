"""Releases: written whole, signed, verified; deltas between any two releases; key rotation;
tampering, unknown keys and impossible deltas refused; nothing half-published."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hotline.config import Settings
from hotline.db.engine import Database
from hotline.errors import Conflict, InvalidInput, NotFound
from hotline.lists import offline, release, signing
from hotline.lists import store as lists_store
from hotline.lists.tables import ListReleaseRow
from hotline.lists.verify import VerifyError, verify_dir
from hotline.matching import list_files, store
from tests.lists.helpers import entries, ids, new_list


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "releases"


def publish(db: Database, root: Path, settings: Settings, name: str = "alpha") -> release.Published:
    return release.publish(db, root, name, settings.secret, "test")


def ring(db: Database) -> signing.Keyring:
    with db.read() as session:
        return signing.keyring(session)


def delta_lines(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "delta.jsonl").read_text().splitlines()]


def test_full_release_verifies_and_holds_every_format(
    db: Database, settings: Settings, root: Path
) -> None:
    new_list(db, "alpha", entries(5))
    made = publish(db, root, settings)
    assert made.path == root / "alpha" / "1"
    names = {f.name for f in made.manifest.files}
    assert names == {"entries.jsonl", "entries.csv", "vics.json", "threatexchange.txt"}
    result = verify_dir(made.path, ring(db))
    assert result.manifest.version == 1 and result.manifest.entries == 5

    # entries.jsonl is a list file: the offline matcher reads it as it is.
    info, listed = list_files.read(made.path / "entries.jsonl")
    assert (info.name, info.version, len(listed)) == ("alpha", 1, 5)
    first = json.loads((made.path / "entries.jsonl").read_text().splitlines()[1])
    assert first["jurisdictions"]["us_vics"] == "1" and "added_at" in first

    vics = json.loads((made.path / "vics.json").read_text())
    assert vics["odata.metadata"].endswith("#Media") and len(vics["value"]) == 5
    media = vics["value"][0]
    assert media["Category"] == 1 and media["MD5"] == media["MD5"].upper()
    assert {h["HashName"] for h in media["AlternativeHashes"]} == {"PDQ"}

    rows = (made.path / "entries.csv").read_text().splitlines()
    assert rows[0].startswith("id,category,md5,sha1,sha256,pdq,pdq_quality,vpdq,added_at")
    assert len(rows) == 6
    assert len((made.path / "threatexchange.txt").read_text().splitlines()) == 5


def test_delta_carries_additions_and_withdrawals_with_reasons(
    db: Database, settings: Settings, root: Path
) -> None:
    new_list(db, "alpha", entries(4))
    publish(db, root, settings)  # version 1
    first_ids = ids(db, "alpha")
    before = datetime.now(UTC)
    with db.write() as session:
        store.withdraw_entries(session, "alpha", first_ids[:1], "regraded: not illegal")
        store.add_entries(session, "alpha", entries(2, seed=2))
    after = datetime.now(UTC)
    with db.write() as session:  # added and withdrawn between releases: in neither half
        latest = ids(db, "alpha")[-1]
        store.withdraw_entries(session, "alpha", [latest], "duplicate")
    made = publish(db, root, settings)  # version 4
    m = made.manifest
    assert (m.version, m.since, m.additions, m.withdrawals, m.entries) == (4, 1, 1, 1, 4)
    lines = delta_lines(made.path)
    assert lines[0]["format"] == "hotline-hash-list-delta" and lines[0]["since"] == 1
    assert [line["op"] for line in lines[1:]] == ["add", "withdraw"]
    assert lines[2] == {**lines[2], "id": first_ids[0], "reason": "regraded: not illegal"}
    assert set(lines[2]) == {"op", "id", "withdrawn_at", "reason"}
    # When it was withdrawn: an ISO 8601 time with its UTC offset, the time of the withdrawal.
    withdrawn_at = datetime.fromisoformat(lines[2]["withdrawn_at"])
    assert withdrawn_at.utcoffset() == timedelta(0)
    assert before - timedelta(seconds=1) <= withdrawn_at <= after + timedelta(seconds=1)

    # The first release is unchanged by later work, and a delta from 0 is the whole list.
    assert verify_dir(root / "alpha" / "1", ring(db)).manifest.entries == 4
    whole = release.delta(db, root, "alpha", 0, settings.secret)
    assert whole.manifest.additions == 4 and whole.manifest.withdrawals == 0
    verify_dir(whole.path, ring(db))


def test_member_copy_follows_deltas(
    db: Database, settings: Settings, root: Path, tmp_path: Path
) -> None:
    new_list(db, "alpha", entries(3))
    v1 = publish(db, root, settings)
    copy = tmp_path / "copy.jsonl"
    copy.write_bytes((v1.path / "entries.jsonl").read_bytes())
    gone = ids(db, "alpha")[1]
    with db.write() as session:
        store.withdraw_entries(session, "alpha", [gone], "found wrong")
        store.add_entries(session, "alpha", entries(2, seed=9))
    publish(db, root, settings)
    made = release.delta(db, root, "alpha", 1, settings.secret)
    verify_dir(made.path, ring(db))
    done = offline.apply(copy, made.path / "delta.jsonl")
    assert (done.version, done.added, done.withdrawn, done.entries) == (3, 2, 1, 4)
    info, kept = list_files.read(copy)
    assert info.version == 3 and gone not in {e.id for e in kept}
    # The same delta again does not fit a copy that is already past it: refused, unchanged.
    before = copy.read_bytes()
    with pytest.raises(offline.DeltaError, match="starts at version 1"):
        offline.apply(copy, made.path / "delta.jsonl")
    assert copy.read_bytes() == before


def test_impossible_deltas_are_refused(db: Database, settings: Settings, root: Path) -> None:
    new_list(db, "alpha", entries(2))
    with pytest.raises(NotFound, match="no release yet"):
        release.delta(db, root, "alpha", 0, settings.secret)
    publish(db, root, settings)
    with db.write() as session:
        store.add_entries(session, "alpha", entries(1, seed=3))
        store.add_entries(session, "alpha", entries(1, seed=4))
    publish(db, root, settings)  # version 3; version 2 was never released
    with pytest.raises(InvalidInput, match="latest is 3"):
        release.delta(db, root, "alpha", 7, settings.secret)  # the future
    with pytest.raises(InvalidInput, match="no release 2"):
        release.delta(db, root, "alpha", 2, settings.secret)
    with pytest.raises(NotFound):
        release.delta(db, root, "missing", 0, settings.secret)
    assert not (root / "alpha" / "deltas").exists()


def test_a_version_is_released_once(db: Database, settings: Settings, root: Path) -> None:
    new_list(db, "alpha", entries(1))
    publish(db, root, settings)
    with pytest.raises(Conflict, match="already released"):
        publish(db, root, settings)


def test_a_failed_release_leaves_nothing(
    db: Database, settings: Settings, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    new_list(db, "alpha", entries(3))

    def broken(*args: object) -> str:
        raise OSError("disk full")

    monkeypatch.setattr(release, "_sign", broken)
    with pytest.raises(OSError, match="disk full"):
        publish(db, root, settings)
    assert list((root / "alpha").iterdir()) == []  # no folder, not even the staging one
    with db.read() as session:
        assert session.execute(select(func.count()).select_from(ListReleaseRow)).scalar_one() == 0
    monkeypatch.undo()
    assert publish(db, root, settings).manifest.version == 1  # and it can be tried again


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda p: (p / "entries.csv").write_text("id,category\n1,A\n"), "entries.csv has"),
        (
            lambda p: (p / "vics.json").write_bytes(
                (p / "vics.json").read_bytes().replace(b'"Category":1', b'"Category":2', 1)
            ),
            "vics.json does not match its SHA-256",
        ),
        (lambda p: (p / "threatexchange.txt").unlink(), "threatexchange.txt is missing"),
        (lambda p: (p / "extra.txt").write_text("pdq 00\n"), "not covered by the manifest"),
        (
            lambda p: (p / "manifest.json").write_bytes(
                (p / "manifest.json").read_bytes().replace(b'"entries":3', b'"entries":4')
            ),
            "signature does not match",
        ),
        (lambda p: (p / "manifest.sig").unlink(), "manifest.sig is missing"),
        (lambda p: (p / "manifest.json").write_text("{not json"), "not JSON"),
    ],
)
def test_tampering_is_caught(db: Database, settings: Settings, root: Path, damage, message) -> None:  # type: ignore[no-untyped-def]
    new_list(db, "alpha", entries(3))
    made = publish(db, root, settings)
    damage(made.path)
    with pytest.raises(VerifyError, match=message):
        verify_dir(made.path, ring(db))


def test_unknown_key_and_rotation(db: Database, settings: Settings, root: Path) -> None:
    new_list(db, "alpha", entries(2))
    old = publish(db, root, settings)
    with pytest.raises(VerifyError, match="not in the keyring"):
        verify_dir(old.path, signing.Keyring([]))

    with db.write() as session:
        retired, current = signing.rotate(session, settings.secret)
    assert retired is not None and retired.key_id == old.manifest.key_id
    with db.write() as session:
        store.add_entries(session, "alpha", entries(1, seed=5))
    new = publish(db, root, settings)
    assert new.manifest.key_id == current.key_id != old.manifest.key_id
    keyring = signing.Keyring.parse(json.loads(json.dumps(ring(db).to_json())))
    verify_dir(old.path, keyring)  # signed before the key retired: still good
    verify_dir(new.path, keyring)

    # A manifest dated after its key retired is refused, even with a valid signature.
    with db.read() as session:
        row_key = signing.keyring(session).keys[retired.key_id]
    late = release.Manifest.from_bytes((old.path / "manifest.json").read_bytes())
    assert row_key.retired_at is not None
    with pytest.raises(signing.SignatureError, match="retired"):
        keyring.verify(b"x", b"", late.key_id, row_key.retired_at.replace(year=2100))


def test_keyring_file_problems(tmp_path: Path) -> None:
    bad = tmp_path / "ring.json"
    bad.write_text(
        '{"format": "hotline-keyring", "keys": [{"key_id": "00", "public_key": "AAAA"}]}'
    )
    with pytest.raises(ValueError, match="32 bytes"):
        signing.Keyring.load(bad)
    bad.write_text("[]")
    with pytest.raises(ValueError, match="not a hotline-keyring"):
        signing.Keyring.load(bad)
    with pytest.raises(ValueError, match="cannot read"):
        signing.Keyring.load(tmp_path / "none.json")


def test_list_settings_are_checked(db: Database) -> None:
    new_list(db, "alpha", [])
    with pytest.raises(InvalidInput) as caught:
        lists_store.ListConfig.parse({"categories": ["D"], "fields": ["url"], "colour": 1})
    assert {f.field for f in caught.value.fields} == {"categories", "fields", "colour"}
    with db.write() as session:
        lists_store.set_config(
            session, "alpha", lists_store.ListConfig.parse({"formats": ["jsonl", "csv"]})
        )
    with db.read() as session:
        assert lists_store.get_config(session, "alpha").formats == ("jsonl", "csv")

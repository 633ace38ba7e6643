"""Lists and plug-in signal types (the example dHash, examples/hotline-dhash): releases write
them byte for byte as each writer's `encode` does (a key in JSON lines and deltas, a column in
CSV, an alternative hash in VICS), imports read them back, and syncing from grades takes only
hashes a registered plug-in accepts. Synthetic hashes; no media."""

from __future__ import annotations

import csv
import io
import json
import random
from pathlib import Path

import pytest

from hotline.config import Settings
from hotline.db.engine import Database
from hotline.grading import media_signals
from hotline.hashing import signals as registry
from hotline.lists import formats, from_grades, imports, release
from hotline.lists import store as lists_store
from hotline.matching import store
from hotline.matching.model import NewEntry
from tests.lists.test_from_grades import verified_items
from tests.lists.test_release_rows import header_of, reference, varied


def dhash(rnd: random.Random) -> str:
    return f"{rnd.getrandbits(64):016x}"


def test_a_release_with_plug_in_signals_is_what_every_entry_encodes(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    rnd = random.Random(11)
    made = [
        NewEntry(**{**_fields(e), "signals": {"dhash": dhash(rnd)} if i % 3 else {}})
        for i, e in enumerate(varied(rnd, 300, runs=True))
    ]
    with db.write() as session:
        store.create_list(session, "alpha")
        store.add_entries(session, "alpha", made[:200])
    root = tmp_path / "releases"
    first = release.publish(db, root, "alpha", settings.secret, "test")
    with db.write() as session:
        store.add_entries(session, "alpha", made[200:])
    second = release.publish(db, root, "alpha", settings.secret, "test")
    with db.read() as session:
        info = store.get_list(session, "alpha")
        kept = lists_store.get_config(session, "alpha")
        for published in (first, second):
            version = published.manifest.version
            expected = reference(
                tmp_path / "ref" / str(version),
                release._writers(kept, info.kind, ["dhash"]),
                header_of(published.path / "entries.jsonl"),
                list(lists_store.entries_at(session, info.id, version)),
            )
            for file, data in expected.items():
                assert (published.path / file).read_bytes() == data, f"{version} {file}"
    rows = list(csv.reader(io.StringIO((second.path / "entries.csv").read_text())))
    assert rows[0][6:10] == ["pdq_quality", "vpdq", "dhash", "added_at"]
    values = [r[8] for r in rows[1:]]
    assert sum(1 for v in values if v) == sum(1 for e in made if e.signals)
    delta = (second.path / "delta.jsonl").read_text().splitlines()[1:]
    assert [json.loads(line).get("dhash") for line in delta] == [
        e.signals.get("dhash") for e in made[200:]
    ]


def _fields(entry: NewEntry) -> dict[str, object]:
    names = ("category", "md5", "sha1", "sha256", "pdq", "pdq_quality", "shared", "vpdq")
    return {n: getattr(entry, n) for n in names}


def test_a_list_without_plug_in_signals_keeps_its_csv_columns(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    with db.write() as session:
        store.create_list(session, "plain")
        store.add_entries(session, "plain", [NewEntry("A", md5="a" * 32)])
    made = release.publish(db, tmp_path, "plain", settings.secret, "test")
    header = (made.path / "entries.csv").read_text().splitlines()[0]
    assert "dhash" not in header and "vpdq,added_at" in header


def test_csv_import_reads_a_plug_in_column() -> None:
    data = b"category,md5,DHash\nA,,F0F0F0F0F0F0F0F0\nB," + b"a" * 32 + b",\nC,,f0f0\n"
    batch = imports.parse("csv", data, source_name="bank.csv")
    (problem,) = batch.problems
    assert (problem.record, problem.field) == (4, "dhash") and "16 hex digits" in problem.message
    good = imports.parse("csv", data.rsplit(b"\n", 2)[0] + b"\n", source_name="bank.csv")
    assert not good.problems
    assert [dict(e.signals) for e in good.entries] == [{"dhash": "f0f0f0f0f0f0f0f0"}, {}]
    only_plugin = imports.parse("csv", b"category,dhash\nA," + b"1" * 16, source_name="x.csv")
    assert not only_plugin.problems and only_plugin.entries[0].signals == {"dhash": "1" * 16}


def test_csv_import_drops_a_repeated_plug_in_hash() -> None:
    data = b"category,dhash\nA," + b"1" * 16 + b"\nA," + b"1" * 16 + b"\n"
    batch = imports.parse("csv", data, source_name="bank.csv")
    assert len(batch.entries) == 1 and batch.duplicates == 1


def vics(alternatives: list[dict[str, str]]) -> bytes:
    media = {"MediaID": 4, "Category": 1, "AlternativeHashes": alternatives}
    return json.dumps({"value": [media]}).encode()


def test_vics_import_reads_a_plug_in_alternative_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    batch = imports.parse(
        "vics", vics([{"HashName": "DHASH", "HashValue": "F" * 16}]), source_name="v.json"
    )
    assert not batch.problems and batch.entries[0].signals == {"dhash": "f" * 16}
    bad = imports.parse("vics", vics([{"HashName": "dhash", "HashValue": "ff"}]), source_name="v")
    assert bad.problems and "dhash" in bad.problems[0].field
    # Without the plug-in, its hashes are another tool's: skipped, not a problem.
    monkeypatch.setattr(registry, "_plugins", {})
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry.BUILTIN_SIGNAL_TYPES))
    gone = imports.parse(
        "vics", vics([{"HashName": "dhash", "HashValue": "f" * 16}]), source_name="v.json"
    )
    assert not gone.problems and not gone.entries and gone.skipped_total == 1


def test_sync_takes_only_hashes_a_registered_plug_in_accepts(db: Database) -> None:
    first, second, _ = verified_items(db, ["A", "A", "B"])
    with db.write() as session:
        media_signals.record(session, first, {"dhash": "0123456789abcdef"})
        # A value its plug-in refuses, and a type whose plug-in is gone: both left out.
        media_signals.record(session, second, {"dhash": "not a dhash", "retired": "abc"})
        store.create_list(session, "known")
        assert from_grades.sync(session, "known").added == 3
    with db.read() as session:
        listed = list(store.live_entries(session, store.get_list(session, "known").id))
    assert [dict(e.signals) for e in listed] == [{"dhash": "0123456789abcdef"}, {}, {}]


def test_rows_with_plug_in_hashes_take_the_template_path(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Plug-in hashes are columns of their own, so alike rows share one template (no entry
    object each), with or without the hash, as for the built-ins."""
    rnd = random.Random(5)
    made = [
        NewEntry(
            "A", md5=f"{rnd.getrandbits(128):032x}", signals={"dhash": dhash(rnd)} if i % 2 else {}
        )
        for i in range(200)
    ]
    with db.write() as session:
        store.create_list(session, "alpha")
        store.add_entries(session, "alpha", made)
    referenced: list[int] = []
    real = formats.RowEncoder._reference

    def counting(self: formats.RowEncoder, rows: list) -> None:  # type: ignore[type-arg]
        rows = list(rows)
        referenced.append(len(rows))
        real(self, rows)

    monkeypatch.setattr(formats.RowEncoder, "_reference", counting)
    with db.read() as session:
        info = store.get_list(session, "alpha")
        signals = store.signal_names(session, info.id, info.version)
        writer = formats.JsonLinesWriter()
        out = formats.HashingFile(tmp_path / "e.jsonl")
        writer.begin(out, {"list": "alpha"})
        encoder = formats.RowEncoder([writer], lists_store.row_shape("hash", signals))
        for batch in lists_store.entry_rows_at(session, info.id, info.version, signals=signals):
            encoder.write(batch)
        writer.end()
        out.close()
    assert signals == ["dhash"] and sum(referenced) == 0
    lines = (tmp_path / "e.jsonl").read_text().splitlines()[1:]
    assert [json.loads(line).get("dhash") for line in lines] == [
        e.signals.get("dhash") for e in made
    ]

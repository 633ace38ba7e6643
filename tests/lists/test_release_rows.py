"""Release files written from database rows (`formats.RowEncoder`) are byte for byte what each
writer's own `encode` gives entry by entry, for entries of every shape: any mix of hashes,
odd categories and shared fields, videos, malformed values that bypassed validation, and
the way the rows come (one context or many, templates refused, too many contexts to keep).
All data is synthetic."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from hotline.config import Settings
from hotline.db.engine import Database
from hotline.lists import formats, release
from hotline.lists import store as lists_store
from hotline.lists.formats_te import ThreatExchangeWriter
from hotline.lists.model import ListConfig, ReleaseEntry
from hotline.matching import store
from hotline.matching.model import NewEntry
from hotline.matching.tables import HashListEntryRow

FIELDS = ["age_band", "sex", "self_generated", "non_photographic", "grid", "tags"]
JURISDICTIONS = ["interpol_baseline", "us_vics", "canada"]
ODD = ["A", "B", "C", "a,b", 'q"uote', "50%", "π ünï", "new\nline", " sp ", "", "cr\rx"]
SHARED: list[dict[str, Any] | None] = [
    None,
    {},
    {"jurisdictions": {"us_vics": "1", "interpol_baseline": "baseline", "canada": "csam"}},
    {
        "jurisdictions": {"us_vics": "3"},
        "metadata": {"age_band": "10-12", "sex": "f", "self_generated": True, "tags": ["x", "y,z"]},
    },
    {"jurisdictions": {"us_vics": "x"}, "metadata": {"age_band": 'a"b', "grid": 3, "tags": []}},
    {"metadata": {"sex": "π", "grid": 1.5, "non_photographic": False}},
]
ODD_HASHES = ["", 'ab"c', "a,b", "x\ny", "%s%d", "ÄBC", "ab cd"]


def hexes(rnd: random.Random, n: int) -> str:
    return "".join(rnd.choice("0123456789abcdef") for _ in range(n))


def vpdq(rnd: random.Random, frames: int) -> str:
    return "\n".join(
        f"{i},{rnd.choice([40, 75])},{hexes(rnd, 64)},{i * 0.1:.3f}" for i in range(frames)
    )


def varied(rnd: random.Random, n: int, *, runs: bool = False) -> list[NewEntry]:
    """Entries of every shape; `runs`: in stretches of alike entries, as releases mostly are."""
    made = []
    while len(made) < n:
        size = rnd.randint(1, 40) if runs else 1
        shape = {
            "category": rnd.choice(ODD) if rnd.random() < 0.3 else "A",
            "md5": rnd.random() < 0.9,
            "sha1": rnd.random() < 0.7,
            "sha256": rnd.random() < 0.5,
            "pdq": rnd.random() < 0.9,
            "quality": rnd.choice([None, 0, 50, 100]),
            "shared": rnd.choice(SHARED),
        }
        for _ in range(size):
            upper = rnd.random() < 0.1
            md5 = hexes(rnd, 32).upper() if upper else hexes(rnd, 32)
            made.append(
                NewEntry(
                    category=shape["category"],
                    md5=md5 if shape["md5"] else None,
                    sha1=hexes(rnd, 40) if shape["sha1"] else None,
                    sha256=hexes(rnd, 64) if shape["sha256"] else None,
                    pdq=hexes(rnd, 64) if shape["pdq"] else None,
                    pdq_quality=shape["quality"],
                    shared=shape["shared"],
                    vpdq=vpdq(rnd, rnd.randint(1, 4)) if rnd.random() < 0.03 else None,
                )
            )
            if rnd.random() < 0.01:  # straight into the store, as no validation would allow
                made[-1] = NewEntry(
                    "A", md5=rnd.choice(ODD_HASHES), pdq=hexes(rnd, 64), pdq_quality=7
                )
    return made[:n]


def reference(
    folder: Path, writers: list[formats.EntryWriter], header: dict, entries: list[ReleaseEntry]
) -> dict[str, bytes]:
    """The files written entry by entry through each writer's `encode`."""
    folder.mkdir(parents=True)
    outs = [formats.HashingFile(folder / w.name) for w in writers]
    for writer, out in zip(writers, outs, strict=True):
        writer.begin(out, header)
    for entry in entries:
        record = entry.record()
        for writer in writers:
            writer.entry(entry, record)
    for writer, out in zip(writers, outs, strict=True):
        writer.end()
        out.close()
    return {w.name: (folder / w.name).read_bytes() for w in writers}


def header_of(path: Path) -> dict[str, Any]:
    return json.loads(path.read_bytes().split(b"\n", 1)[0])


def test_a_release_is_what_every_entry_encodes(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    rnd = random.Random(6)
    config = ListConfig.parse({"fields": FIELDS})
    with db.write() as session:
        store.create_list(session, "alpha")
        store.create_list(session, "small")
        lists_store.set_config(session, "alpha", config)
    for batch in range(3):
        with db.write() as session:
            store.add_entries(session, "alpha", varied(rnd, 1500, runs=batch != 1))
            store.add_entries(session, "small", varied(rnd, 20))
    root = tmp_path / "releases"
    first = release.publish(db, root, "alpha", settings.secret, "test")
    with db.read() as session:
        live = [e.id for e in store.live_entries(session, store.get_list(session, "alpha").id)]
    with db.write() as session:
        store.withdraw_entries(session, "alpha", live[::13], 'reason, "quoted" π')
        store.add_entries(session, "alpha", varied(rnd, 400, runs=True))
    second = release.publish(db, root, "alpha", settings.secret, "test")
    small = release.publish(db, root, "small", settings.secret, "test")  # read by index

    with db.read() as session:
        for made, name in [(first, "alpha"), (second, "alpha"), (small, "small")]:
            info = store.get_list(session, name)
            kept = lists_store.get_config(session, name)
            version = made.manifest.version
            header = header_of(made.path / "entries.jsonl")
            expected = reference(
                tmp_path / "ref" / f"{name}-{version}",
                release._writers(kept, info.kind),
                header,
                list(lists_store.entries_at(session, info.id, version)),
            )
            assert set(expected) == {f.name for f in made.manifest.files} - {"delta.jsonl"}
            for file, data in expected.items():
                assert (made.path / file).read_bytes() == data, f"{name} {version} {file}"
            lines = expected["entries.jsonl"].count(b"\n") - 1
            assert header["entries"] == made.manifest.entries == lines

        # The delta in the second release, and one asked for from nothing.
        info = store.get_list(session, "alpha")
        for since, folder in [
            (first.manifest.version, second.path),
            (0, release.delta(db, root, "alpha", 0, settings.secret).path),
        ]:
            writer = formats.DeltaWriter()
            out = formats.HashingFile(tmp_path / f"delta-{since}.jsonl")
            writer.begin(out, header_of(folder / "delta.jsonl"))
            for entry in lists_store.additions(session, info.id, since, second.manifest.version):
                writer.entry(entry, entry.record())
            for gone in lists_store.withdrawals(session, info.id, since, second.manifest.version):
                writer.withdrawal(gone)
            writer.end()
            out.close()
            expected_delta = (tmp_path / f"delta-{since}.jsonl").read_bytes()
            assert (folder / "delta.jsonl").read_bytes() == expected_delta


# -- the encoder on rows made here, without a database ------------------------------------------


ADDED = ["2026-05-01 10:00:00.000001", "2026-05-02 11:30:00"]


def as_row(entry_id: int, entry: NewEntry, added: str) -> tuple[Any, ...]:
    """A row as `store.entry_rows_at` gives it on SQLite."""
    values = [entry.md5, entry.sha1, entry.sha256, entry.pdq, entry.pdq_quality]
    key = sum(1 << i for i, v in enumerate(values) if v is None)
    return (
        entry_id,
        entry.category,
        added,
        entry.md5,
        entry.sha1,
        entry.sha256,
        entry.pdq,
        entry.pdq_quality,
        json.dumps(entry.shared, sort_keys=True) if entry.shared else None,
        entry.vpdq,
        None,
        -1 if entry.vpdq is not None else key,
    )


def writers() -> list[formats.EntryWriter]:
    return [
        formats.JsonLinesWriter(),
        formats.CsvWriter(JURISDICTIONS, FIELDS),
        formats.VicsWriter(),
        ThreatExchangeWriter(),
        formats.DeltaWriter(),
    ]


def through_encoder(
    tmp_path: Path, rows: list[tuple[Any, ...]], batch: int, chosen: list[formats.EntryWriter]
) -> dict[str, bytes]:
    folder = tmp_path / f"rows-{batch}"
    folder.mkdir()
    behind = formats.WriteBehind()
    outs = [formats.HashingFile(folder / w.name, behind) for w in chosen]
    for writer, out in zip(chosen, outs, strict=True):
        writer.begin(out, {"list": "x"})
    encoder = formats.RowEncoder(chosen, lists_store.row_shape("hash"))
    for start in range(0, len(rows), batch):
        encoder.write(rows[start : start + batch])
    assert encoder.rows == len(rows)
    for writer, out in zip(chosen, outs, strict=True):
        writer.end()
        out.close()
    behind.close()
    return {w.name: (folder / w.name).read_bytes() for w in chosen}


@pytest.mark.parametrize("runs", [True, False])
def test_rows_of_every_shape_encode_as_entries_do(tmp_path: Path, runs: bool) -> None:
    rnd = random.Random(11 if runs else 12)
    made = varied(rnd, 3000, runs=runs)
    rows = [as_row(i, e, ADDED[i // 1000 % 2]) for i, e in enumerate(made, 1)]
    shape = lists_store.row_shape("hash")
    expected = reference(
        tmp_path / "ref", writers(), {"list": "x"}, [shape.to_entry(r) for r in rows]
    )
    for batch in (1, 7, 2000):
        assert through_encoder(tmp_path, rows, batch, writers()) == expected


def test_a_template_that_does_not_hold_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer that does something to a hash other than write it as it is gets each entry
    through its own `encode`."""
    templated = []
    columns = formats.RowEncoder._columns

    def spy(self: formats.RowEncoder, cols: Any, n: int, *args: Any) -> None:
        templated.append(n)
        columns(self, cols, n, *args)

    monkeypatch.setattr(formats.RowEncoder, "_columns", spy)

    class Reversed(formats.JsonLinesWriter):
        name = "reversed.txt"

        def encode(self, entry: ReleaseEntry, record: dict[str, Any]) -> bytes:
            return f"{entry.id} {(entry.md5 or '')[::-1]} {len(entry.pdq or '')}\n".encode()

    rnd = random.Random(3)
    rows = [as_row(i, e, ADDED[0]) for i, e in enumerate(varied(rnd, 500, runs=True), 1)]
    shape = lists_store.row_shape("hash")
    entries = [shape.to_entry(r) for r in rows]
    chosen = [Reversed(), formats.VicsWriter()]
    expected = reference(tmp_path / "ref", chosen, {"list": "x"}, entries)
    assert through_encoder(tmp_path, rows, 100, [Reversed(), formats.VicsWriter()]) == expected
    assert templated == []  # every row the reference way
    assert through_encoder(tmp_path, rows, 50, [formats.VicsWriter()]) == {
        "vics.json": expected["vics.json"]
    }
    assert sum(templated) > 400  # VICS alone: from templates


@pytest.mark.parametrize(("eager", "most", "alike"), [(3, 20_000, 1), (3, 10, 2)])
def test_contexts_past_the_template_limits_are_written_entry_by_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, eager: int, most: int, alike: int
) -> None:
    monkeypatch.setattr(formats, "_EAGER_TEMPLATES", eager)
    monkeypatch.setattr(formats, "_MOST_TEMPLATES", most)
    rnd = random.Random(4)
    made = varied(rnd, 2000, runs=False)
    # Entries added at their own times (`alike` at a time): nearly every context is new.
    rows = [
        as_row(i, e, f"2026-05-01 10:00:{i // alike % 60:02d}.{i // alike:06d}")
        for i, e in enumerate(made, 1)
    ]
    shape = lists_store.row_shape("hash")
    expected = reference(
        tmp_path / "ref", writers(), {"list": "x"}, [shape.to_entry(r) for r in rows]
    )
    assert through_encoder(tmp_path, rows, 500, writers()) == expected


# -- counts and failures -------------------------------------------------------------------------


def test_the_header_counts_what_the_file_holds_even_after_hand_edits(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    """The entry count comes from the list's live count; if the history was edited by hand
    so that it differs from the rows live at the version, the files are written again."""
    with db.write() as session:
        store.create_list(session, "alpha")
        store.add_entries(session, "alpha", varied(random.Random(5), 30))
        session.execute(
            update(HashListEntryRow)
            .where(HashListEntryRow.id.in_([3, 4]))
            .values(withdrawn_at=datetime(2026, 1, 1, tzinfo=UTC))  # no withdrawn_in
        )
    made = release.publish(db, tmp_path / "releases", "alpha", settings.secret, "test")
    lines = (made.path / "entries.jsonl").read_bytes().splitlines()
    assert made.manifest.entries == header_of(made.path / "entries.jsonl")["entries"] == 30
    assert len(lines) == 31


def test_a_write_that_fails_in_the_writer_thread_fails_the_release(
    db: Database, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with db.write() as session:
        store.create_list(session, "alpha")
        store.add_entries(session, "alpha", varied(random.Random(7), 50))
    real = formats.HashingFile._write

    def failing(self: formats.HashingFile, data: bytes) -> None:
        if self.path.name == "vics.json":
            raise OSError("disk full")
        real(self, data)

    monkeypatch.setattr(formats.HashingFile, "_write", failing)
    root = tmp_path / "releases"
    with pytest.raises(OSError, match="disk full"):
        release.publish(db, root, "alpha", settings.secret, "test")
    assert list((root / "alpha").iterdir()) == []
    monkeypatch.undo()
    assert release.publish(db, root, "alpha", settings.secret, "test").manifest.version == 1

"""The example signal-type plug-in (a dHash, examples/hotline-dhash) in every path, on both
databases, with no file under src/hotline naming it: an image registered with its plug-in
hash -> graded and verified -> synced into a list -> released (JSON lines, CSV, VICS, delta)
-> matched by the match API (itself and a re-compressed crop within the plug-in's distance)
-> matched offline from the release (and from a copy brought up to date by a delta) ->
imported back from the release's VICS file. Benign images drawn here; no media leaves."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

from fastapi.testclient import TestClient
from hotline_dhash import DHashSignal
from PIL import Image

import hotline
from hotline.config import Settings
from hotline.db.engine import Database
from hotline.grading import service
from hotline.grading.model import parse_grade
from hotline.hashing import hash_bytes, plugin_signals_for
from hotline.lists import from_grades, imports, offline, release
from hotline.matching import list_files, store
from hotline.matching.matcher import Matcher, StaticSource
from hotline.matching.model import HashQuery
from hotline.security import users
from tests.matching.conftest import bearer
from tests.matching.helpers import entry, make_key, make_list, shapes_png

NAME = DHashSignal.name
SRC = Path(hotline.__file__).resolve().parent


def near_variant(png: bytes) -> bytes:
    """The same picture cropped a little and saved as a JPEG: another file, a near hash."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    out = io.BytesIO()
    image.crop((6, 0, image.width, image.height - 6)).save(out, "JPEG", quality=70)
    return out.getvalue()


def register_and_verify(db: Database, png: bytes) -> int:
    """Register an image as capture does (built-in and plug-in hashes), then have two
    graders agree on category A: verified, ready for hash lists."""
    with db.write() as session:
        graders = []
        for i in (1, 2):
            name = f"grader{i}"
            known = name in {u.username for u in users.list_users(session)}
            graders.append(
                users.get_user(session, name)
                if known
                else users.create_user(session, name, "a long enough password", ["analyst"])
            )
        item = service.register_media(
            session,
            url_id=None,
            source_url="https://example.org/drawn.png",
            kind="image",
            hashes=service.MediaHashesIn.of(hash_bytes(png), plugin_signals_for(png, "image")),
            byte_count=len(png),
            stored=False,
            purge_after=None,
        )
        for grader in graders:
            service.submit_grade(
                session,
                item.id,
                grader.id,
                parse_grade({"category": "A", "age_band": "11-13"}),
                required=2,
                qa_share=0,
            )
    return item.id


def offline_hits(entries_file: Path, value: str) -> list[tuple[int, int, str]]:
    """What `hotline match --list FILE` does: the list file in a static matcher."""
    matcher = Matcher(StaticSource([list_files.read(entries_file)]), refresh_seconds=1e9)
    info, _ = list_files.read(entries_file)
    (hits,) = matcher.match([HashQuery(NAME, value)], [info.name]).hits
    return [(h.entry_id, h.distance, h.signal) for h in hits]


def test_the_plug_in_hash_travels_every_path(
    db: Database, settings: Settings, mclient: TestClient, tmp_path: Path
) -> None:
    png = shapes_png(3)
    dhash = DHashSignal.hash_bytes(png)
    register_and_verify(db, png)

    # Synced from the grade: the entry takes the item's plug-in hash from media_signals.
    with db.write() as session:
        store.create_list(session, "known")
        assert from_grades.sync(session, "known").added == 1
    with db.read() as session:
        (listed,) = store.live_entries(session, store.get_list(session, "known").id)
    assert dict(listed.signals) == {NAME: dhash}

    # Released: a key in JSON lines, a column in CSV, an alternative hash in VICS.
    root = tmp_path / "releases"
    first = release.publish(db, root, "known", settings.secret, "test")
    record = json.loads((first.path / "entries.jsonl").read_text().splitlines()[1])
    assert record[NAME] == dhash and record["id"] == listed.id
    (row,) = csv.DictReader(io.StringIO((first.path / "entries.csv").read_text()))
    assert row[NAME] == dhash and row["md5"] == listed.md5
    vics = json.loads((first.path / "vics.json").read_text())
    alternatives = {a["HashName"]: a["HashValue"] for a in vics["value"][0]["AlternativeHashes"]}
    assert alternatives[NAME] == dhash

    # The match API: the hash itself, and a re-compressed crop within max_distance.
    key = make_key(db, "platform", ["known"])
    variant = DHashSignal.hash_bytes(near_variant(png))
    distance = DHashSignal.compare(dhash, variant).distance
    assert 0 < distance <= DHashSignal.max_distance
    other = DHashSignal.hash_bytes(shapes_png(13))
    answer = mclient.post(
        "/api/v1/match",
        json={"hashes": [{"type": NAME, "value": v} for v in (dhash, variant, other)]},
        headers=bearer(key),
    )
    assert answer.status_code == 200, answer.text
    found = [
        [(m["entry_id"], m["distance"], m["signal"]) for m in r["matches"]]
        for r in answer.json()["results"]
    ]
    assert found == [[(listed.id, 0, NAME)], [(listed.id, distance, NAME)], []]

    # An upload of the variant is hashed by the plug-in too: a list holding only the
    # plug-in hash finds it.
    make_list(db, "by-plugin", [entry(category="A", **{NAME: dhash})])
    upload = mclient.post(
        "/api/v1/match",
        files={"file": ("variant.jpg", near_variant(png), "application/octet-stream")},
        headers=bearer(make_key(db, "uploader", ["by-plugin"])),
    )
    (result,) = upload.json()["results"]
    assert result["signals"] == {NAME: variant}
    assert [(m["list"], m["distance"], m["signal"]) for m in result["matches"]] == [
        ("by-plugin", distance, NAME)
    ]

    # Offline, from the release's own file.
    assert offline_hits(first.path / "entries.jsonl", variant) == [(listed.id, distance, NAME)]

    # A second image joins; the delta carries its hash and brings a copy up to date.
    second_png = shapes_png(5)
    register_and_verify(db, second_png)
    with db.write() as session:
        assert from_grades.sync(session, "known").added == 1
    second = release.publish(db, root, "known", settings.secret, "test")
    added = [
        json.loads(line) for line in (second.path / "delta.jsonl").read_text().splitlines()[1:]
    ]
    second_hash = DHashSignal.hash_bytes(second_png)
    assert [(a["op"], a[NAME]) for a in added] == [("add", second_hash)]
    copy = tmp_path / "copy.jsonl"
    copy.write_bytes((first.path / "entries.jsonl").read_bytes())
    offline.apply(copy, second.path / "delta.jsonl")
    assert [h[2] for h in offline_hits(copy, second_hash)] == [NAME]

    # Imported back from the release's VICS file, the hash is kept and matched again.
    batch = imports.parse("vics", (second.path / "vics.json").read_bytes(), source_name="vics.json")
    assert not batch.problems
    assert sorted(e.signals[NAME] for e in batch.entries) == sorted([dhash, second_hash])
    with db.write() as session:
        store.create_list(session, "imported")
        store.add_entries(session, "imported", batch.entries)
    key = make_key(db, "platform", ["imported"])
    again = mclient.post("/api/v1/match", json={NAME: variant}, headers=bearer(key))
    (hit,) = again.json()["results"][0]["matches"]
    assert (hit["list"], hit["distance"], hit["signal"]) == ("imported", distance, NAME)


def test_no_file_under_src_hotline_names_the_example_plug_in() -> None:
    """Adding a signal type changes nothing inside hotline: its name appears nowhere there
    as a word (help texts say NAME; `InvalidHashError` is not a mention)."""
    word = re.compile(rf"\b{NAME}\b", re.IGNORECASE)
    naming = [
        str(path.relative_to(SRC))
        for path in sorted(SRC.rglob("*"))
        if path.is_file()
        and path.suffix not in {".pyc", ".mo"}
        and word.search(path.read_text(encoding="utf-8", errors="ignore"))
    ]
    assert naming == []

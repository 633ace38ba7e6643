"""Videos on hash lists: entries that carry a vPDQ (a PDQ hash per frame) in every release
format, through deltas and withdrawal, into a member's copy, and matched as whole videos by
the offline matcher, by the database-backed matcher, and by python-threatexchange's own vPDQ
signal type loading our `threatexchange.txt`.

Videos: small clips of coloured shapes drawn by the test (`helpers.drawn_video`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from hotline.cli import app
from hotline.config import Settings
from hotline.db.engine import Database
from hotline.errors import InvalidInput
from hotline.hashing import hash_bytes, vpdq_from_bytes
from hotline.hashing.signals import VpdqSignal
from hotline.hashing.vpdq import VpdqFrame, parse_vpdq_lines
from hotline.lists import offline, release, signing
from hotline.lists.verify import verify_dir
from hotline.matching import inputs, list_files, store, validation
from hotline.matching.matcher import DatabaseSource, Matcher
from hotline.matching.model import NewEntry, vpdq_records
from hotline.matching.video import VideoIndex, VideoRule
from tests.lists.helpers import drawn_video, entries, ids, new_list


@pytest.fixture(scope="module")
def clip() -> bytes:
    return drawn_video(1)


@pytest.fixture(scope="module")
def clip_frames(clip: bytes) -> list[VpdqFrame]:
    frames = vpdq_from_bytes(clip)
    assert len(frames) == 20 and all(f.quality >= 50 for f in frames)
    return frames


@pytest.fixture(scope="module")
def reencoded() -> bytes:
    """The same drawing as `clip`, encoded as WebM (VP8) at another size."""
    return drawn_video(1, container="webm", codec="libvpx", size=(160, 120))


@pytest.fixture(scope="module")
def other_clip() -> bytes:
    return drawn_video(2)


def video_entry(data: bytes, category: str = "A") -> NewEntry:
    return NewEntry(
        category=category,
        md5=hashlib.md5(data).hexdigest(),
        sha256=hashlib.sha256(data).hexdigest(),
        vpdq=VpdqSignal.serialise(vpdq_from_bytes(data)),
        shared={"jurisdictions": {"us_vics": "1"}},
    )


def publish(db: Database, root: Path, settings: Settings) -> release.Published:
    return release.publish(db, root, "alpha", settings.secret, "test")


def ring(db: Database) -> signing.Keyring:
    with db.read() as session:
        return signing.keyring(session)


def jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


# -- formats -----------------------------------------------------------------------------------


def test_a_video_entry_in_every_release_format(
    db: Database, settings: Settings, tmp_path: Path, clip: bytes, clip_frames: list[VpdqFrame]
) -> None:
    new_list(db, "alpha", [*entries(2), video_entry(clip)])
    made = publish(db, tmp_path / "releases", settings)
    verify_dir(made.path, ring(db))
    video_id = ids(db, "alpha")[-1]

    # entries.jsonl: a vpdq array, one object a frame; the offline matcher reads it back.
    lines = {r["id"]: r for r in jsonl(made.path / "entries.jsonl")[1:]}
    assert lines[video_id]["vpdq"] == vpdq_records(clip_frames)
    assert lines[video_id]["vpdq"][3] == {
        "frame": 3,
        "quality": clip_frames[3].quality,
        "pdq": clip_frames[3].pdq,
        "timestamp": 0.3,
    }
    assert "pdq" not in lines[video_id] and "vpdq" not in lines[ids(db, "alpha")[0]]
    _, listed = list_files.read(made.path / "entries.jsonl")
    assert {e.id: e.vpdq for e in listed}[video_id] == tuple(clip_frames)

    # entries.csv: one cell, Meta's text lines joined with ";".
    rows = list(csv.DictReader(io.StringIO((made.path / "entries.csv").read_text())))
    header = (made.path / "entries.csv").read_text().splitlines()[0]
    assert header.startswith("id,category,md5,sha1,sha256,pdq,pdq_quality,vpdq,added_at")
    cell = {int(r["id"]): r["vpdq"] for r in rows}
    assert cell[ids(db, "alpha")[0]] == ""
    assert parse_vpdq_lines(cell[video_id].replace(";", "\n")) == clip_frames

    # vics.json: an AlternativeHashes item named vPDQ holding Meta's text format.
    media = {m["MediaID"]: m for m in json.loads((made.path / "vics.json").read_text())["value"]}
    alternatives = {a["HashName"]: a["HashValue"] for a in media[video_id]["AlternativeHashes"]}
    assert set(alternatives) == {"SHA256", "vPDQ"}
    assert parse_vpdq_lines(alternatives["vPDQ"]) == clip_frames
    assert media[video_id]["MD5"] == hashlib.md5(clip).hexdigest().upper()

    # threatexchange.txt: `vpdq <json>` as threatexchange's VPDQSignal serialises it, and the
    # video's whole-file MD5 as its VideoMD5Signal (the images' MD5s have no signal type there).
    signals = (made.path / "threatexchange.txt").read_text().splitlines()
    assert [s.split(" ", 1)[0] for s in signals] == ["pdq", "pdq", "vpdq", "video_md5"]
    value = json.loads(signals[2].split(" ", 1)[1])
    assert value[3] == f"{clip_frames[3].pdq},{clip_frames[3].quality},0.300"
    assert signals[3] == f"video_md5 {hashlib.md5(clip).hexdigest()}"


def test_threatexchange_leaves_out_a_video_with_no_good_frame(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    """Its vPDQ line is left out; its whole-file MD5 still matches the exact file."""
    dim = "\n".join(f"{i},20,{'ab' * 32},{i / 10:.3f}" for i in range(5))
    new_list(db, "alpha", [NewEntry(category="B", md5="1" * 32, vpdq=dim)])
    made = publish(db, tmp_path / "releases", settings)
    assert (made.path / "threatexchange.txt").read_text() == f"video_md5 {'1' * 32}\n"
    (line,) = jsonl(made.path / "entries.jsonl")[1:]
    assert len(line["vpdq"]) == 5  # the list itself keeps it


# -- deltas, withdrawal and a member's copy -----------------------------------------------------


def test_video_entries_through_deltas_and_withdrawal(
    db: Database,
    settings: Settings,
    tmp_path: Path,
    clip: bytes,
    other_clip: bytes,
    reencoded: bytes,
) -> None:
    root = tmp_path / "releases"
    new_list(db, "alpha", [video_entry(clip), *entries(1)])
    v1 = publish(db, root, settings)
    copy = tmp_path / "copy.jsonl"
    copy.write_bytes((v1.path / "entries.jsonl").read_bytes())
    first_video = ids(db, "alpha")[0]

    # The matcher the API uses (entries from the database) finds the video as a whole.
    matcher = Matcher(DatabaseSource(db), refresh_seconds=0)
    queries = inputs.from_media(hash_bytes(reencoded)).queries
    hits = inputs.merge_hits(matcher.match(queries, ["alpha"]).hits)
    assert [(h.entry_id, h.signal, h.distance) for h in hits] == [(first_video, "vpdq", 0)]

    with db.write() as session:
        store.add_entries(session, "alpha", [video_entry(other_clip, "B")])
        store.withdraw_entries(session, "alpha", [first_video], "regraded: not illegal")
    second_video = ids(db, "alpha")[-1]
    v3 = publish(db, root, settings)
    assert (v3.manifest.additions, v3.manifest.withdrawals) == (1, 1)
    lines = jsonl(v3.path / "delta.jsonl")[1:]
    assert [line["op"] for line in lines] == ["add", "withdraw"]
    assert lines[0]["id"] == second_video
    assert lines[0]["vpdq"] == vpdq_records(vpdq_from_bytes(other_clip))
    assert lines[1]["id"] == first_video and lines[1]["reason"] == "regraded: not illegal"
    assert lines[1]["withdrawn_at"]

    # The refreshed matcher no longer matches the withdrawn video; it matches the new one.
    assert inputs.merge_hits(matcher.match(queries, ["alpha"]).hits) == []
    other = inputs.from_media(hash_bytes(other_clip)).queries
    assert [h.entry_id for h in matcher.match(other, ["alpha"]).hits[-1]] == [second_video]

    # A member's copy follows the signed delta: the withdrawn video goes, the new one comes
    # with its frames, and the result is still a list file the offline matcher reads.
    delta = release.delta(db, root, "alpha", 1, settings.secret)
    verify_dir(delta.path, ring(db))
    done = offline.apply(copy, delta.path / "delta.jsonl")
    assert (done.added, done.withdrawn, done.entries) == (1, 1, 2)
    _, kept = list_files.read(copy)
    by_id = {e.id: e for e in kept}
    assert first_video not in by_id
    assert by_id[second_video].vpdq == tuple(vpdq_from_bytes(other_clip))


# -- offline matching --------------------------------------------------------------------------


def test_hotline_match_finds_a_reencoded_video(
    db: Database,
    settings: Settings,
    tmp_path: Path,
    clip: bytes,
    reencoded: bytes,
    other_clip: bytes,
) -> None:
    new_list(db, "alpha", [*entries(2), video_entry(clip)])
    made = publish(db, tmp_path / "releases", settings)
    video_id = ids(db, "alpha")[-1]
    files = {
        "reencoded.webm": reencoded,
        "other.mp4": other_clip,
        # The first half of the listed video: all its frames are in the entry, only half of
        # the entry's in it: a match under the default rule (80 % of the query's frames, as
        # HMA), none when 80 % of the listed video's frames are also required.
        "half.mp4": drawn_video(1, frames=10),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    result = CliRunner().invoke(
        app,
        [
            "match",
            "--list",
            str(made.path / "entries.jsonl"),
            *(str(tmp_path / n) for n in files),
            f"md5:{hashlib.md5(clip).hexdigest()}",
        ],
    )
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.output.splitlines()]
    by_input = {Path(r.get("path", r.get("input", ""))).name: r for r in out}
    reencoded_hits = by_input["reencoded.webm"]["matches"]
    assert [(m["entry_id"], m["signal"]) for m in reencoded_hits] == [(video_id, "vpdq")]
    assert reencoded_hits[0]["distance"] <= 20 and reencoded_hits[0]["category"] == "A"
    assert by_input["reencoded.webm"]["media"] == "video"
    assert by_input["other.mp4"]["matches"] == []
    half_hits = by_input["half.mp4"]["matches"]
    assert [(m["entry_id"], m["signal"], m["distance"]) for m in half_hits] == [
        (video_id, "vpdq", 0)
    ]
    exact = next(r for r in out if r.get("input", "").startswith("md5:"))
    assert [(m["entry_id"], m["signal"]) for m in exact["matches"]] == [(video_id, "md5")]

    both_ways = CliRunner().invoke(
        app,
        ["match", "--list", str(made.path / "entries.jsonl"), str(tmp_path / "half.mp4")],
        env={"HOTLINE_VPDQ_COMPARE_PERCENT": "80"},
    )
    assert both_ways.exit_code == 0, both_ways.output
    assert json.loads(both_ways.output)["matches"] == []


def test_video_index_shares_both_ways(clip_frames: list[VpdqFrame]) -> None:
    index = VideoIndex()
    index.add([(7, clip_frames), (8, clip_frames[:10]), (9, [])])
    assert len(index) == 2  # an entry with no frame at all can never match: not held
    whole = index.search(clip_frames, 31)
    # Entry 8 holds half the video: all of its frames match, but only half of the query's.
    assert [(m.entry_id, m.query_percent, m.entry_percent) for m in whole] == [(7, 100.0, 100.0)]
    half = index.search(clip_frames[:10], 31)
    # 7 holds 100 % of the query, 50 % of its own frames found: a match by default (HMA's
    # rule), not when 80 % of the listed video must be found too.
    assert [(m.entry_id, m.query_percent, m.distance) for m in half] == [(7, 100, 0), (8, 100, 0)]
    assert 50 <= half[0].entry_percent < 80 and half[1].entry_percent == 100
    assert [m.entry_id for m in index.search(clip_frames[:10], 31, VideoRule(80, 80))] == [8]
    # Repeated frames count once and poor frames not at all, on both sides (as Meta's).
    padded = [*clip_frames, *clip_frames[:5]]
    poor = [VpdqFrame(99, 10, "f" * 64, 9.9)]
    assert [m.entry_id for m in index.search(padded + poor, 31)] == [7]
    index.remove([7])
    assert index.search(clip_frames, 31) == []
    assert index.search([VpdqFrame(0, 10, clip_frames[0].pdq, 0.0)], 31) == []


# -- input checks ------------------------------------------------------------------------------


def test_vpdq_in_entry_records_is_checked(clip_frames: list[VpdqFrame]) -> None:
    records = vpdq_records(clip_frames[:2])
    as_array = validation.entry({"category": "A", "vpdq": records})
    as_text = validation.entry({"category": "A", "vpdq": VpdqSignal.serialise(clip_frames[:2])})
    assert as_array.vpdq == as_text.vpdq == VpdqSignal.serialise(clip_frames[:2])
    assert as_array.md5 is None  # a vPDQ alone is enough for an entry

    bad_frame = {**records[0], "pdq": "zz"}
    cases = {
        "[]": [],
        "extra field": [{**records[0], "note": "x"}],
        "negative frame": [{**records[0], "frame": -1}],
        "quality": [{**records[0], "quality": 101}],
        "timestamp": [{**records[0], "timestamp": "soon"}],
        "pdq": [records[1], bad_frame],
        "text": "0,100,abc,0.0",
    }
    for what, value in cases.items():
        with pytest.raises(InvalidInput) as caught:
            validation.entry({"category": "A", "vpdq": value})
        (problem,) = caught.value.fields
        assert problem.field == "vpdq", what
    with pytest.raises(InvalidInput) as caught:
        validation.entry({"category": "A", "vpdq": [records[1], bad_frame]})
    assert caught.value.fields[0].message.startswith("frame 1: pdq must be 64 hex digits")


def test_add_entries_takes_videos(
    db: Database, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOTLINE_DATABASE_URL", db.url)
    monkeypatch.setenv("HOTLINE_SECRET_KEY", settings.secret.decode())
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(settings.data_dir))
    new_list(db, "alpha", [])
    frames = vpdq_from_bytes(drawn_video(3, frames=4))
    good = {"category": "A", "vpdq": vpdq_records(frames)}
    bad = {"category": "A", "vpdq": [{"frame": 0}]}
    source = tmp_path / "entries.jsonl"
    source.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    runner = CliRunner()
    result = runner.invoke(app, ["lists", "add-entries", "alpha", str(source)])
    assert result.exit_code == 1 and "line 2: vpdq: frame 0:" in result.output
    source.write_text(json.dumps(good) + "\n")
    result = runner.invoke(app, ["lists", "add-entries", "alpha", str(source)])
    assert result.exit_code == 0, result.output
    with db.read() as session:
        (entry,) = store.live_entries(session, store.get_list(session, "alpha").id)
    assert entry.vpdq == tuple(frames)
    # `hotline lists export` writes it too, as the offline matcher reads it.
    exported = tmp_path / "export.jsonl"
    result = runner.invoke(app, ["lists", "export", "alpha", "--out", str(exported)])
    assert result.exit_code == 0, result.output
    assert jsonl(exported)[1]["vpdq"] == vpdq_records(frames)
    assert list_files.read(exported)[1][0].vpdq == tuple(frames)


# -- python-threatexchange's own vPDQ signal type ----------------------------------------------


@pytest.fixture(scope="module")
def te_vpdq() -> Any:
    """threatexchange's vPDQ extension. Its modules import Meta's `vpdq` binding (a C++
    build) at the top, but only hashing a file uses it; parsing, the brute matcher and the
    FAISS-backed `VPDQIndex` are pure Python. Where the binding is not installed, a stand-in
    module lets them import, and refuses to hash."""
    try:
        import vpdq  # noqa: F401
    except ImportError:
        stand_in = types.ModuleType("vpdq")

        def no_hashing(*args: object, **kwargs: object) -> None:
            raise RuntimeError("Meta's vpdq binding is not installed")

        stand_in.VpdqFeature = object  # type: ignore[attr-defined]
        stand_in.computeHash = no_hashing  # type: ignore[attr-defined]
        sys.modules["vpdq"] = stand_in
        try:
            from threatexchange.extensions.vpdq import vpdq as extension
        finally:
            del sys.modules["vpdq"]
    else:
        from threatexchange.extensions.vpdq import vpdq as extension
    return extension


def test_threatexchange_loads_and_matches_our_vpdq(
    db: Database,
    settings: Settings,
    tmp_path: Path,
    te_vpdq: Any,
    clip: bytes,
    reencoded: bytes,
    other_clip: bytes,
) -> None:
    from threatexchange.exchanges.impl.file_api import (
        FileCollaborationConfig,
        LocalFileSignalExchangeAPI,
    )
    from threatexchange.signal_type.pdq.signal import PdqSignal

    vpdq_signal = te_vpdq.VPDQSignal
    new_list(db, "alpha", [*entries(1), video_entry(clip), video_entry(other_clip, "B")])
    made = publish(db, tmp_path / "releases", settings)
    collab = FileCollaborationConfig(
        name="hotline-file", filename=str(made.path / "threatexchange.txt")
    )
    api = LocalFileSignalExchangeAPI.for_collab(collab)
    fetched: dict[Any, Any] = {}
    for delta in api.fetch_iter([PdqSignal, vpdq_signal], None):
        api.naive_fetch_merge(fetched, delta.updates)
    signals = api.naive_convert_to_signal_type([PdqSignal, vpdq_signal], collab, fetched)
    assert len(signals[PdqSignal]) == 1 and len(signals[vpdq_signal]) == 2
    for value in signals[vpdq_signal]:
        assert vpdq_signal.validate_signal_str(value) == value

    def te_hash(data: bytes) -> str:
        """A video's vPDQ as threatexchange serialises it (its own hashing needs Meta's
        binding; ours gives the same frames)."""
        features = [
            te_vpdq.VpdqCompactFeature(f.pdq, f.quality, f.timestamp) for f in vpdq_from_bytes(data)
        ]
        return str(te_vpdq.vpdq_to_json(features))

    def ours(data: bytes) -> str:
        frames = vpdq_from_bytes(data)
        return json.dumps([f"{f.pdq},{f.quality},{f.timestamp:.3f}" for f in frames])

    listed = {ours(clip): "clip", ours(other_clip): "other"}
    assert set(signals[vpdq_signal]) == set(listed)
    index = vpdq_signal.get_index_cls().build((value, listed[value]) for value in listed)
    matches = index.query(te_hash(reencoded))
    assert [m.metadata for m in matches] == ["clip"]
    assert index.query(te_hash(drawn_video(4))) == []
    brute = {
        name: vpdq_signal.compare_hash(te_hash(reencoded), value).match
        for value, name in listed.items()
    }
    assert brute == {"clip": True, "other": False}

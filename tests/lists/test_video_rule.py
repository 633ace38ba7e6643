"""The one video rule (docs/matching.md, "Video matching"), the same answer on every path.

A video whose frames are 80 % found in a listed video, while most of the listed video's
frames are not in it, is matched the way python-threatexchange's vPDQ matcher (what HMA runs)
decides: by the match API (an upload, hashed by the server), `hotline match` offline, the
member client's offline matcher on a verified release, and HMA's path, the `hotline` exchange
plug-in fetching the list from a live server into threatexchange's own `VPDQIndex`. A query
with 75 % of its frames found is matched by none of them. Raising the compare share
(`HOTLINE_VPDQ_COMPARE_PERCENT`, hotline's old 80/80 rule) turns the first off everywhere
hotline decides.

The videos are coloured shapes drawn by the test (`helpers.drawn_video`); the listed videos
are the query's own frames, some left out, plus frames of random bits.
"""

from __future__ import annotations

import json
import random
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hotline_client import OfflineMatcher, VideoRule, verify_release
from hotline_client.te_exchange import (
    HotlineCollabConfig,
    HotlineSignalExchangeAPI,
)
from threatexchange.signal_type.md5 import VideoMD5Signal
from threatexchange.signal_type.pdq.signal import PdqSignal
from typer.testing import CliRunner

from hotline.cli import app as cli_app
from hotline.config import Settings
from hotline.db.engine import Database
from hotline.hashing import vpdq_from_bytes
from hotline.hashing.signals import VpdqSignal
from hotline.hashing.vpdq import VpdqFrame
from hotline.lists import release, signing
from hotline.lists.api import release_root
from hotline.matching import store
from hotline.matching.model import NewEntry
from hotline.matching.service import MatchConfig
from hotline.web.app import create_app
from tests.lists.helpers import drawn_video, ids

LIST = "videos"


@pytest.fixture(scope="module")
def te_vpdq() -> Any:
    """threatexchange's vPDQ extension; a stand-in for Meta's compiled `vpdq` binding lets
    its pure-Python matcher and FAISS index import where the binding is not installed (only
    hashing a file needs it)."""
    try:
        import vpdq  # noqa: F401
    except ImportError:
        stand_in = types.ModuleType("vpdq")
        stand_in.VpdqFeature = object  # type: ignore[attr-defined]
        stand_in.computeHash = None  # type: ignore[attr-defined]
        sys.modules["vpdq"] = stand_in
        try:
            from threatexchange.extensions.vpdq import vpdq as extension
            from threatexchange.extensions.vpdq import vpdq_brute_matcher
        finally:
            del sys.modules["vpdq"]
    else:
        from threatexchange.extensions.vpdq import vpdq as extension
        from threatexchange.extensions.vpdq import vpdq_brute_matcher
    extension.brute = vpdq_brute_matcher.match_VPDQ_hash_brute
    return extension


@pytest.fixture(scope="module")
def query_video() -> bytes:
    return drawn_video(1)


@pytest.fixture(scope="module")
def query_frames(query_video: bytes) -> list[VpdqFrame]:
    return vpdq_from_bytes(query_video)


def te_json(te: Any, frames: list[VpdqFrame]) -> str:
    """A vPDQ as threatexchange serialises it (its own hashing needs Meta's binding)."""
    return str(
        te.vpdq_to_json([te.VpdqCompactFeature(f.pdq, f.quality, f.timestamp) for f in frames])
    )


def reference_shares(
    te: Any, query: list[VpdqFrame], listed: list[VpdqFrame]
) -> tuple[float, float]:
    """threatexchange's brute matcher: (query share, compared share)."""
    result = te.brute(
        te.json_to_vpdq(te_json(te, query)), te.json_to_vpdq(te_json(te, listed)), 50, 31
    )
    return result.query_match_percent, result.compared_match_percent


def listed_video(query: list[VpdqFrame], drop: int) -> list[VpdqFrame]:
    """The query's frames but the first `drop`, then 20 frames of random bits."""
    rng = random.Random(drop)
    kept = query[drop:]
    noise = [
        VpdqFrame(len(kept) + i, 90, f"{rng.getrandbits(256):064x}", float(len(kept) + i))
        for i in range(20)
    ]
    return [VpdqFrame(i, f.quality, f.pdq, float(i)) for i, f in enumerate([*kept, *noise])]


@pytest.fixture(scope="module")
def cases(te_vpdq: Any, query_frames: list[VpdqFrame]) -> dict[str, list[VpdqFrame]]:
    """`at_80`: the listed video holding the fewest of the query's frames that still has 80 %
    of them found, by threatexchange's reckoning; `under`: the next one, under 80 %."""
    found = {}
    for drop in range(1, 15):
        listed = listed_video(query_frames, drop)
        query_share, compared = reference_shares(te_vpdq, query_frames, listed)
        assert compared < 80  # most of each listed video is not in the query
        if query_share >= 80:
            found["at_80"] = listed
        else:
            found["under"] = listed
            break
    at_80, _ = reference_shares(te_vpdq, query_frames, found["at_80"])
    assert 80 <= at_80 < 100 and "under" in found
    return found


@pytest.fixture
def published(
    db: Database, settings: Settings, cases: dict[str, list[VpdqFrame]]
) -> dict[str, Any]:
    """The list (one entry per case, each with a video MD5), released and signed, a key."""
    text = {name: "\n".join(f.to_line() for f in frames) for name, frames in cases.items()}
    with db.write() as session:
        store.create_list(session, LIST)
        store.add_entries(
            session,
            LIST,
            [
                NewEntry(category="A", md5=f"{1:032x}", vpdq=text["at_80"]),
                NewEntry(category="B", md5=f"{2:032x}", vpdq=text["under"]),
            ],
        )
        store.create_member(session, "example-platform")
        issued, _ = store.create_key(session, "example-platform", [LIST])
    made = release.publish(db, release_root(settings), LIST, settings.secret, "test")
    with db.read() as session:
        keyring = signing.keyring(session)
    at_80, under = ids(db, LIST)
    return {
        "release": made.path,
        "keyring": keyring,
        "key": issued.key,
        "at_80": at_80,
        "under": under,
    }


def api_app(settings: Settings, db: Database) -> FastAPI:
    app = create_app(settings, db)
    app.state.match_config = MatchConfig(refresh_seconds=0, rate_limit=1000)
    return app


def api_hits(app: FastAPI, key: str, video: bytes) -> list[tuple[int, str]]:
    with TestClient(app) as client:
        answer = client.post(
            "/api/v1/match",
            files={"file": ("query.mp4", video)},
            headers={"Authorization": f"Bearer {key}"},
        )
    assert answer.status_code == 200, answer.text
    return [(m["entry_id"], m["signal"]) for m in answer.json()["results"][0]["matches"]]


def cli_hits(
    entries: Path, video: Path, env: dict[str, str] | None = None
) -> list[tuple[int, str]]:
    result = CliRunner().invoke(cli_app, ["match", "--list", str(entries), str(video)], env=env)
    assert result.exit_code == 0, result.output
    return [(m["entry_id"], m["signal"]) for m in json.loads(result.output)["matches"]]


def test_every_path_gives_hmas_answer(
    db: Database,
    settings: Settings,
    tmp_path: Path,
    te_vpdq: Any,
    query_video: bytes,
    query_frames: list[VpdqFrame],
    published: dict[str, Any],
) -> None:
    at_80 = published["at_80"]
    expected = [(at_80, "vpdq")]

    # The match API: the server hashes the upload.
    assert api_hits(api_app(settings, db), published["key"], query_video) == expected

    # `hotline match` offline, on the release's entries.jsonl.
    video_file = tmp_path / "query.mp4"
    video_file.write_bytes(query_video)
    entries = published["release"] / "entries.jsonl"
    assert cli_hits(entries, video_file) == expected

    # The member client: verify the signed release, then match offline.
    keyring_file = tmp_path / "keyring.json"
    keyring_file.write_text(json.dumps(published["keyring"].to_json()))
    from hotline_client import Keyring

    checked = verify_release(published["release"], Keyring.load(keyring_file))
    matcher = OfflineMatcher.from_release(checked)
    frames = [(f.pdq, f.quality) for f in query_frames]
    assert [(m.entry_id, m.signal) for m in matcher.match_video(frames)] == expected

    # threatexchange's own VPDQIndex (what HMA builds) on what the release file carries.
    lines = (published["release"] / "threatexchange.txt").read_text().splitlines()
    listed = {
        value: number
        for number, (kind, value) in enumerate(line.split(" ", 1) for line in lines)
        if kind == "vpdq"
    }
    index = te_vpdq.VPDQSignal.get_index_cls().build(listed.items())
    assert [m.metadata for m in index.query(te_json(te_vpdq, query_frames))] == [0]  # at_80's


def test_the_plugin_hands_hma_the_same_answer(
    app: FastAPI,
    live_server: str,
    te_vpdq: Any,
    query_video: bytes,
    query_frames: list[VpdqFrame],
    published: dict[str, Any],
) -> None:
    """HMA's path: the exchange plug-in fetches the list from a live hotline, hands
    threatexchange its signals, and threatexchange's VPDQIndex (HMA's defaults) decides."""
    collab = HotlineCollabConfig(name="hotline-videos", base_url=live_server, list_name=LIST)
    exchange = HotlineSignalExchangeAPI(collab, published["key"])
    kinds = [PdqSignal, te_vpdq.VPDQSignal, VideoMD5Signal]
    fetched: dict[Any, Any] = {}
    for delta in exchange.fetch_iter(kinds, None):
        exchange.naive_fetch_merge(fetched, delta.updates)
    exchange.close()
    signals = exchange.naive_convert_to_signal_type(kinds, collab, fetched)
    index = te_vpdq.VPDQSignal.get_index_cls().build(
        (value, record.entry_id) for value, record in signals[te_vpdq.VPDQSignal].items()
    )
    found = index.query(te_json(te_vpdq, query_frames))
    assert [m.metadata for m in found] == [published["at_80"]]
    assert found[0].similarity_info.query_match_percent >= 80
    # The video MD5 travels too, with its category as the opinion's tag.
    md5s = {value: record for value, record in signals[VideoMD5Signal].items()}
    assert set(md5s) == {f"{1:032x}", f"{2:032x}"}
    assert md5s[f"{1:032x}"].get_as_opinions()[0].tags == {"category_a"}


def test_the_signal_types_compare_agrees_with_threatexchange(
    te_vpdq: Any, query_frames: list[VpdqFrame], cases: dict[str, list[VpdqFrame]]
) -> None:
    """`VpdqSignal.compare` (the signal type's API) and threatexchange's `compare_hash`."""
    query = VpdqSignal.serialise(query_frames)
    for name, listed in cases.items():
        ours = VpdqSignal.compare(query, VpdqSignal.serialise(listed))
        theirs = te_vpdq.VPDQSignal.compare_hash(
            te_json(te_vpdq, query_frames), te_json(te_vpdq, listed)
        )
        assert ours.matched == theirs.match == (name == "at_80")
        assert ours.distance == round(100 - theirs.distance.query_match_percent)


def test_a_stricter_compare_share_turns_it_off_everywhere_hotline_decides(
    db: Database,
    settings: Settings,
    tmp_path: Path,
    query_video: bytes,
    query_frames: list[VpdqFrame],
    published: dict[str, Any],
) -> None:
    strict = settings.model_copy(update={"vpdq_compare_percent": 80.0})
    assert api_hits(api_app(strict, db), published["key"], query_video) == []
    video_file = tmp_path / "query.mp4"
    video_file.write_bytes(query_video)
    entries = published["release"] / "entries.jsonl"
    assert cli_hits(entries, video_file, {"HOTLINE_VPDQ_COMPARE_PERCENT": "80"}) == []
    matcher = OfflineMatcher.from_file(entries, rule=VideoRule(80, 80))
    assert matcher.match_video([(f.pdq, f.quality) for f in query_frames]) == []


def test_bad_rules_are_refused(tmp_path: Path, published: dict[str, Any]) -> None:
    for query, compare in ((101, 0), (-1, 0), (0, 0), (80, float("nan"))):
        with pytest.raises(ValueError):
            VideoRule(query, compare)
    with pytest.raises(ValueError, match="cannot both be 0"):
        Settings(vpdq_query_percent=0, vpdq_compare_percent=0)
    with pytest.raises(ValueError):
        Settings(vpdq_query_percent=120)
    entries = published["release"] / "entries.jsonl"
    result = CliRunner().invoke(
        cli_app,
        [
            "match",
            "--list",
            str(entries),
            "--vpdq-query-percent",
            "0",
            "--vpdq-compare-percent",
            "0",
            f"md5:{1:032x}",
        ],
    )
    assert result.exit_code == 2 and "cannot both be 0" in result.output

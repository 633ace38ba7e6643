"""python-threatexchange, the real package (no mocks), against what hotline serves.

Part 1: the `threatexchange.txt` a release carries loads through threatexchange's own file
exchange, indexes with its PDQ index, and matches an altered copy of a benign image.
Part 2: the `hotline` exchange plug-in (`hotline.lists.te_exchange`) fetches a list from a
small local server that speaks the member API contract (`/delta?since=`, `delta.jsonl`).

Images: Meta's benign reference photo (tests/data/pdq) and shapes drawn with Pillow.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import pickle
import random
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image, ImageDraw
from threatexchange.exchanges.auth import SignalExchangeAPIInvalidAuthException
from threatexchange.exchanges.impl.file_api import (
    FileCollaborationConfig,
    LocalFileSignalExchangeAPI,
)
from threatexchange.extensions.manifest import ThreatExchangeExtensionManifest
from threatexchange.signal_type.md5 import VideoMD5Signal
from threatexchange.signal_type.pdq.signal import PdqSignal
from threatexchange.utils import dataclass_json

from hotline.hashing.vpdq import VpdqFrame
from hotline.lists import formats
from hotline.lists.formats import HashingFile
from hotline.lists.formats_te import ThreatExchangeWriter, vpdq_signal
from hotline.lists.model import ReleaseEntry
from hotline.lists.te_exchange import (
    DELTA_FORMAT,
    HotlineAuthError,
    HotlineCheckpoint,
    HotlineCollabConfig,
    HotlineCredentials,
    HotlineExchangeError,
    HotlineSignalExchangeAPI,
    HotlineSignalMetadata,
)

BENIGN = Path(__file__).parents[1] / "data" / "pdq" / "bridge-mods" / "aaa-orig.jpg"
LIST = "iwf-hashes"
KEY = "hlk_0123456789ab_" + "f" * 32
ADDED = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
ADDED_AT = ADDED.isoformat()
RNG = random.Random(20260105)


def random_pdq() -> str:
    return f"{RNG.getrandbits(256):064x}"


def random_md5() -> str:
    return f"{RNG.getrandbits(128):032x}"


@pytest.fixture(scope="module")
def benign_pdq() -> str:
    value = PdqSignal.hash_from_file(BENIGN)
    assert value, "the reference photo hashes with quality ≥ 50"
    return value


@pytest.fixture(scope="module")
def altered_pdq() -> str:
    """The benign photo shrunk to two thirds and re-encoded as a low-quality JPEG."""
    with Image.open(BENIGN) as image:
        smaller = image.convert("RGB").resize((image.width * 2 // 3, image.height * 2 // 3))
    out = io.BytesIO()
    smaller.save(out, "JPEG", quality=60)
    value = PdqSignal.hash_from_bytes(out.getvalue())
    assert value
    return value


@pytest.fixture(scope="module")
def drawn_pdq() -> str:
    """An unrelated image: stripes and a disc."""
    image = Image.new("RGB", (256, 256), "white")
    draw = ImageDraw.Draw(image)
    for x in range(0, 256, 32):
        draw.rectangle([x, 0, x + 15, 255], fill=(20, 60, 160))
    draw.ellipse([64, 64, 192, 192], fill=(200, 30, 30))
    out = io.BytesIO()
    image.save(out, "PNG")
    value = PdqSignal.hash_from_bytes(out.getvalue())
    assert value
    return value


def index_of(signals: dict[str, Any]) -> Any:
    """threatexchange's own PDQ index over {pdq: metadata}."""
    return PdqSignal.get_index_cls().build(signals.items())


# -- part 1: threatexchange.txt through LocalFileSignalExchangeAPI -----------------------------


def test_release_file_loads_and_matches_in_threatexchange(
    tmp_path: Path, benign_pdq: str, altered_pdq: str, drawn_pdq: str
) -> None:
    others = [random_pdq() for _ in range(3)]
    no_pdq_md5 = random_md5()
    entries = [
        ReleaseEntry(1, "A", ADDED_AT, md5=random_md5(), pdq=benign_pdq, pdq_quality=100),
        *(
            ReleaseEntry(i, "B", ADDED_AT, md5=random_md5(), pdq=p, pdq_quality=90)
            for i, p in enumerate(others, 2)
        ),
        ReleaseEntry(9, "C", ADDED_AT, md5=no_pdq_md5),  # no PDQ: must not be written
    ]
    path = tmp_path / ThreatExchangeWriter.name
    out = HashingFile(path)
    writer = ThreatExchangeWriter()
    writer.begin(out, {"list": LIST, "version": 1})
    for entry in entries:
        writer.entry(entry, entry.record())
    writer.end()
    digest = out.close()
    assert digest == hashlib.sha256(path.read_bytes()).hexdigest()

    text = path.read_text()
    assert text.splitlines() == [f"pdq {p}" for p in [benign_pdq, *others]]
    assert no_pdq_md5 not in text

    collab = FileCollaborationConfig(name="hotline-file", filename=str(path))
    api = LocalFileSignalExchangeAPI.for_collab(collab)
    fetched: dict[Any, Any] = {}
    for delta in api.fetch_iter([PdqSignal], None):
        api.naive_fetch_merge(fetched, delta.updates)
    assert set(fetched) == {("pdq", p) for p in [benign_pdq, *others]}

    signals = api.naive_convert_to_signal_type([PdqSignal, VideoMD5Signal], collab, fetched)
    assert set(signals) == {PdqSignal}  # nothing else: the file holds PDQ only
    index = index_of({h: h for h in signals[PdqSignal]})
    assert len(index) == 4

    matches = index.query(altered_pdq)
    assert [m.metadata for m in matches] == [benign_pdq]
    assert matches[0].similarity_info.distance <= PdqSignal.get_index_cls().get_match_threshold()
    assert index.query(drawn_pdq) == []


# -- part 2: the hotline exchange against a local member API -----------------------------------


@dataclass
class FakeHotline:
    """Serves the member API contract from bodies the test writes: one delta per `since`."""

    base_url: str = ""
    deltas: dict[int, tuple[int, bytes]] = field(default_factory=dict)
    error: tuple[int, str, str] | None = None  # (status, code, message) for every request
    tamper: bool = False  # serve delta.jsonl with a byte more than described
    file_url: str | None = None  # override the descriptor's delta.jsonl URL
    seen: list[tuple[str, str]] = field(default_factory=list)  # (path?query, Authorization)

    def publish(
        self,
        since: int,
        version: int,
        adds: list[dict[str, Any]],
        withdrawn: Sequence[int] = (),
        header: dict[str, Any] | None = None,
    ) -> None:
        head = {
            "format": formats.DELTA_FORMAT,
            "format_version": 1,
            "list": LIST,
            "since": since,
            "version": version,
            "pdq_max_distance": 31,
            **(header or {}),
        }
        lines = [head, *({"op": "add", **a} for a in adds)]
        lines += [
            {"op": "withdraw", "id": i, "withdrawn_at": ADDED_AT, "reason": "regraded"}
            for i in withdrawn
        ]
        self.deltas[since] = (version, b"".join(json.dumps(x).encode() + b"\n" for x in lines))

    def descriptor(self, since: int) -> dict[str, Any]:
        version, body = self.deltas[since]
        base = f"/api/v1/lists/{LIST}/deltas/{since}-{version}/files"
        return {
            "list": LIST,
            "kind": "delta",
            "since": since,
            "version": version,
            "created_at": ADDED_AT,
            "manifest": {"list": LIST, "version": version, "kind": "delta", "since": since},
            "files": [
                {
                    "name": "delta.jsonl",
                    "format": "delta-jsonl",
                    "bytes": len(body),
                    "sha256": hashlib.sha256(body).hexdigest(),
                    "url": self.file_url or f"{base}/delta.jsonl",
                },
                {"name": "manifest.json", "url": f"{base}/manifest.json"},
                {"name": "manifest.sig", "url": f"{base}/manifest.sig"},
            ],
        }

    def answer(self, target: str, authorization: str) -> tuple[int, bytes]:
        self.seen.append((target, authorization))
        if self.error is not None:
            status, code, message = self.error
            return status, json.dumps({"error": {"code": code, "message": message}}).encode()
        if authorization != f"Bearer {KEY}":
            return 401, _error("unauthorized", "this key is unknown or revoked")
        url = urlsplit(target)
        if url.path == f"/api/v1/lists/{LIST}/delta":
            since = int(parse_qs(url.query)["since"][0])
            if since not in self.deltas:
                return 422, _error("invalid_input", f"{since} is not a released version")
            return 200, json.dumps(self.descriptor(since)).encode()
        for since, (version, body) in self.deltas.items():
            if url.path == f"/api/v1/lists/{LIST}/deltas/{since}-{version}/files/delta.jsonl":
                return 200, body + (b" " if self.tamper else b"")
        return 404, _error("not_found", "no such list or file")


def _error(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}).encode()


@pytest.fixture
def hotline() -> Iterator[FakeHotline]:
    fake = FakeHotline()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body = fake.answer(self.path, self.headers.get("Authorization", ""))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def exchange(hotline: FakeHotline) -> Iterator[HotlineSignalExchangeAPI]:
    collab = HotlineCollabConfig(name="iwf", base_url=hotline.base_url, list_name=LIST)
    api = HotlineSignalExchangeAPI.for_collab(collab, HotlineCredentials(KEY))
    try:
        yield api
    finally:
        api.close()


@dataclass
class Releases:
    """v1: a benign-photo entry (A), two random ones (B, C), one without PDQ; v2 withdraws
    entry 2 and adds entry 5."""

    benign: str
    second: str = field(default_factory=random_pdq)
    fourth: str = field(default_factory=random_pdq)
    fifth: str = field(default_factory=random_pdq)
    no_pdq_md5: str = field(default_factory=random_md5)

    def v1(self) -> list[dict[str, Any]]:
        return [
            {
                "id": 1,
                "category": "A",
                "md5": random_md5(),
                "pdq": self.benign,
                "pdq_quality": 100,
                "added_at": ADDED_AT,
                "jurisdictions": {"us_vics": "1"},
            },
            {"id": 2, "category": "B", "pdq": self.second, "pdq_quality": 80, "added_at": ADDED_AT},
            {"id": 3, "category": "A", "md5": self.no_pdq_md5, "added_at": ADDED_AT},
            {"id": 4, "category": "C", "pdq": self.fourth, "pdq_quality": 70, "added_at": ADDED_AT},
        ]

    def v2(self) -> list[dict[str, Any]]:
        return [
            {"id": 5, "category": "B", "pdq": self.fifth, "pdq_quality": 100, "added_at": ADDED_AT}
        ]


@pytest.fixture
def releases(hotline: FakeHotline, benign_pdq: str) -> Releases:
    made = Releases(benign_pdq)
    hotline.publish(0, 1, made.v1())
    hotline.publish(1, 2, made.v2(), withdrawn=[2])
    return made


def fetch(
    api: HotlineSignalExchangeAPI, checkpoint: HotlineCheckpoint | None
) -> tuple[dict[int, HotlineSignalMetadata | None], HotlineCheckpoint]:
    deltas = list(api.fetch_iter([PdqSignal], checkpoint))
    assert len(deltas) == 1  # one delta a fetch: the checkpoint moves only once it is all in
    return deltas[0].updates, deltas[0].checkpoint


def test_first_fetch_gets_the_additions(
    hotline: FakeHotline, exchange: HotlineSignalExchangeAPI, releases: Releases
) -> None:
    updates, checkpoint = fetch(exchange, None)

    assert hotline.seen[0] == (f"/api/v1/lists/{LIST}/delta?since=0", f"Bearer {KEY}")
    assert all(auth == f"Bearer {KEY}" for _, auth in hotline.seen)
    assert set(updates) == {1, 2, 4}  # entry 3 has no PDQ: nothing threatexchange can use
    first = updates[1]
    assert first == HotlineSignalMetadata(
        entry_id=1,
        category="A",
        pdq=releases.benign,
        pdq_quality=100,
        added_at=ADDED_AT,
        jurisdictions={"us_vics": "1"},
    )
    assert [o.tags for o in first.get_as_opinions()] == [{"category_a"}]
    assert str(first) == "POSITIVE_CLASS category_a"
    assert checkpoint == HotlineCheckpoint(1, LIST, int(ADDED.timestamp()))
    assert checkpoint.get_progress_timestamp() == int(ADDED.timestamp())


def test_second_fetch_applies_withdrawal_and_addition(
    hotline: FakeHotline, exchange: HotlineSignalExchangeAPI, releases: Releases
) -> None:
    state: dict[int, HotlineSignalMetadata] = {}
    updates, checkpoint = fetch(exchange, None)
    exchange.naive_fetch_merge(state, updates)

    # the checkpoint survives both ways threatexchange stores them: dataclass JSON
    # (storage.local_dbm) and pickle (the CLI, HMA)
    stored = dataclass_json.dataclass_loads(
        dataclass_json.dataclass_dumps(checkpoint), HotlineCheckpoint
    )
    assert stored == checkpoint == pickle.loads(pickle.dumps(checkpoint))
    record = dataclass_json.dataclass_loads(
        dataclass_json.dataclass_dumps(state[1]), HotlineSignalMetadata
    )
    assert record == state[1]

    updates, checkpoint = fetch(exchange, stored)
    assert hotline.seen[-2][0] == f"/api/v1/lists/{LIST}/delta?since=1"
    assert updates.keys() == {5, 2}
    assert updates[2] is None  # withdrawn: a deletion
    assert updates[5] is not None and updates[5].pdq == releases.fifth
    assert checkpoint.version == 2

    exchange.naive_fetch_merge(state, updates)
    assert set(state) == {1, 4, 5}
    signals = exchange.naive_convert_to_signal_type([PdqSignal], exchange.collab, state)
    assert set(signals[PdqSignal]) == {releases.benign, releases.fourth, releases.fifth}


def test_fetched_signals_index_and_match_a_benign_image(
    exchange: HotlineSignalExchangeAPI, releases: Releases, altered_pdq: str, drawn_pdq: str
) -> None:
    state: dict[int, HotlineSignalMetadata] = {}
    checkpoint = None
    for _ in range(2):
        updates, checkpoint = fetch(exchange, checkpoint)
        exchange.naive_fetch_merge(state, updates)

    signals = exchange.naive_convert_to_signal_type(
        [PdqSignal, VideoMD5Signal], exchange.collab, state
    )
    assert set(signals) == {PdqSignal}
    index = index_of(signals[PdqSignal])

    matches = index.query(altered_pdq)
    assert [(m.metadata.entry_id, m.metadata.category) for m in matches] == [(1, "A")]
    assert index.query(drawn_pdq) == []
    assert index.query(releases.second) == []  # withdrawn in v2
    assert [m.metadata.entry_id for m in index.query(releases.fifth)] == [5]


def test_a_revoked_key_is_a_clear_auth_error(hotline: FakeHotline, releases: Releases) -> None:
    collab = HotlineCollabConfig(name="iwf", base_url=hotline.base_url, list_name=LIST)
    api = HotlineSignalExchangeAPI(collab, "hlk_0123456789ab_" + "0" * 32)
    try:
        with pytest.raises(HotlineAuthError, match="HTTP 401 unauthorized: this key is unknown"):
            next(api.fetch_iter([PdqSignal], None))
    finally:
        api.close()
    api = HotlineSignalExchangeAPI(collab, "hlk_x_y")
    try:  # threatexchange's own bad-credentials exception, for the CLI and HMA to report
        with pytest.raises(SignalExchangeAPIInvalidAuthException) as caught:
            next(api.fetch_iter([PdqSignal], None))
    finally:
        api.close()
    assert caught.value.src_api is HotlineSignalExchangeAPI


@pytest.mark.parametrize(
    ("status", "code", "message"),
    [
        (403, "forbidden", "this key may not download iwf-hashes"),
        (404, "not_found", "list 'iwf-hashes' has no release yet"),
        (422, "invalid_input", "since 9 is in the future"),
    ],
)
def test_http_errors_carry_the_server_message(
    hotline: FakeHotline,
    exchange: HotlineSignalExchangeAPI,
    status: int,
    code: str,
    message: str,
) -> None:
    hotline.error = (status, code, message)
    with pytest.raises(HotlineExchangeError) as caught:
        next(exchange.fetch_iter([PdqSignal], None))
    assert not isinstance(caught.value, HotlineAuthError)
    assert (caught.value.status, caught.value.code) == (status, code)
    assert f"HTTP {status} {code}: {message}" in str(caught.value)


@pytest.mark.parametrize(
    ("header", "complaint"),
    [
        ({"list": "other-list"}, "list is 'other-list', expected 'iwf-hashes'"),
        ({"since": 1}, "since is 1, expected 0"),
        ({"format": "something-else"}, "format is 'something-else'"),
    ],
)
def test_a_delta_header_that_does_not_match_the_request_is_refused(
    hotline: FakeHotline,
    exchange: HotlineSignalExchangeAPI,
    benign_pdq: str,
    header: dict[str, Any],
    complaint: str,
) -> None:
    hotline.publish(0, 1, Releases(benign_pdq).v1(), header=header)
    with pytest.raises(HotlineExchangeError, match="header does not match") as caught:
        next(exchange.fetch_iter([PdqSignal], None))
    assert complaint in str(caught.value)


def test_a_delta_whose_bytes_differ_from_the_descriptor_is_refused(
    hotline: FakeHotline, exchange: HotlineSignalExchangeAPI, releases: Releases
) -> None:
    hotline.tamper = True
    with pytest.raises(HotlineExchangeError, match="does not match the size and SHA-256"):
        next(exchange.fetch_iter([PdqSignal], None))


def test_the_key_is_not_sent_to_another_server(
    hotline: FakeHotline, exchange: HotlineSignalExchangeAPI, releases: Releases
) -> None:
    hotline.file_url = "http://192.0.2.1/steal/delta.jsonl"
    with pytest.raises(HotlineExchangeError, match="points at another server"):
        next(exchange.fetch_iter([PdqSignal], None))
    assert len(hotline.seen) == 1  # only the descriptor was asked for


def test_a_checkpoint_of_another_list_is_refused(
    exchange: HotlineSignalExchangeAPI, releases: Releases
) -> None:
    with pytest.raises(HotlineExchangeError, match="checkpoint is for list 'other'"):
        next(exchange.fetch_iter([PdqSignal], HotlineCheckpoint(3, "other")))


def test_credentials_follow_threatexchange_conventions(
    hotline: FakeHotline, releases: Releases, monkeypatch: pytest.MonkeyPatch
) -> None:
    collab = HotlineCollabConfig(name="iwf", base_url=hotline.base_url, list_name=LIST)
    monkeypatch.setenv(HotlineCredentials.ENV_VARIABLE, f" {KEY}\n")
    api = HotlineSignalExchangeAPI.for_collab(collab)  # found in the environment
    try:
        updates, _ = fetch(api, None)
    finally:
        api.close()
    assert set(updates) == {1, 2, 4}

    monkeypatch.setenv(HotlineCredentials.ENV_VARIABLE, "not-a-key")
    with pytest.raises(SignalExchangeAPIInvalidAuthException):
        HotlineSignalExchangeAPI.for_collab(collab)

    # HMA sets stored credentials as the default while it builds the client
    with HotlineCredentials.set_default(HotlineCredentials(KEY), "db"):
        monkeypatch.delenv(HotlineCredentials.ENV_VARIABLE)
        api = HotlineSignalExchangeAPI.for_collab(collab)
        api.close()


def test_plug_in_registration() -> None:
    manifest = ThreatExchangeExtensionManifest.load_from_module_name("hotline.lists.te_exchange")
    assert manifest.apis == (HotlineSignalExchangeAPI,)
    assert HotlineSignalExchangeAPI.get_name() == "hotline"
    assert HotlineCollabConfig(name="x", base_url="u", list_name="l").api == "hotline"
    # HMA's POST /c/exchanges: {"bank": …, "api": "hotline", "api_json": {…}} loaded like this
    api_json = {"base_url": "https://hotline.example.org", "list_name": LIST}
    collab = dataclass_json.dataclass_load_dict(
        {**api_json, "name": "IWF_HASHES", "enabled": True, "api": "hotline"}, HotlineCollabConfig
    )
    assert (collab.name, collab.api, collab.list_name) == ("IWF_HASHES", "hotline", LIST)
    assert dataclass_json.dataclass_loads(dataclass_json.dataclass_dumps(collab), type(collab)) == (
        collab
    )
    # …and its stored credentials
    creds = dataclass_json.dataclass_load_dict({"api_key": KEY}, HotlineCredentials)
    assert creds._are_valid() and HotlineCredentials._from_str(f"{KEY}\n") == creds
    assert DELTA_FORMAT == formats.DELTA_FORMAT  # the plug-in keeps its own copy


def test_the_threatexchange_cli_fetches_and_matches_through_the_plug_in(
    hotline: FakeHotline, releases: Releases, tmp_path: Path
) -> None:
    """The real `threatexchange` CLI, with its own state storage (pickled checkpoints):
    load the plug-in, add the list as a collab, fetch twice, match a benign photo."""
    with Image.open(BENIGN) as image:
        smaller = image.convert("RGB").resize((image.width // 2, image.height // 2))
    photo = tmp_path / "altered.jpg"
    smaller.save(photo, "JPEG", quality=60)
    env = {**os.environ, "HOME": str(tmp_path), HotlineCredentials.ENV_VARIABLE: KEY}

    def tx(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "threatexchange", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout + done.stderr  # fetch reports progress on stderr

    tx("config", "extensions", "add", "hotline_client.te_exchange")  # the client's own name
    tx(
        "config", "collab", "edit", "hotline", "--create", "iwf",
        "--base-url", hotline.base_url, "--list-name", LIST,
    )  # fmt: skip
    assert "Up to date" in tx("fetch")
    assert tx("dataset").split() == ["pdq:", "3"]  # entries 1, 2, 4 (3 has no PDQ)
    tx("fetch")  # from the checkpoint: withdraws 2, adds 5
    assert [q for q, _ in hotline.seen if "delta?" in q] == [
        f"/api/v1/lists/{LIST}/delta?since=0",
        f"/api/v1/lists/{LIST}/delta?since=1",
    ]
    assert tx("dataset").split() == ["pdq:", "3"]  # entries 1, 4, 5
    assert "(iwf) POSITIVE_CLASS category_a" in tx("match", "photo", str(photo))
    assert "category_b" in tx("match", "--hashes", "photo", "--", releases.fifth)
    assert "iwf" not in tx("match", "--hashes", "photo", "--", releases.second)  # withdrawn


# -- videos: vPDQ through the plug-in, into threatexchange's own vPDQ index --------------------


@pytest.fixture
def vpdq_signal_type(monkeypatch: pytest.MonkeyPatch) -> type[Any]:
    """threatexchange's real `VPDQSignal` (its parser and its index). Importing it needs Meta's
    compiled `vpdq` package, which only hashes video files and has no wheel for this machine;
    where it is missing, an empty stand-in module takes its name. Nothing here hashes video."""
    try:
        import vpdq  # noqa: F401
    except ImportError:
        stand_in = type(sys)("vpdq")
        stand_in.VpdqFeature = object  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "vpdq", stand_in)
    from threatexchange.extensions.vpdq.vpdq import VPDQSignal

    return VPDQSignal


def video_frames(seed: int, n: int = 6, quality: int = 90) -> list[VpdqFrame]:
    rng = random.Random(seed)
    return [
        VpdqFrame(i, quality, f"{rng.getrandbits(256):064x}", round(i * 0.5, 3)) for i in range(n)
    ]


def test_videos_reach_threatexchange_as_vpdq_signals(
    hotline: FakeHotline,
    exchange: HotlineSignalExchangeAPI,
    benign_pdq: str,
    vpdq_signal_type: type[Any],
) -> None:
    clip, other_clip, dark_clip = video_frames(1), video_frames(2), video_frames(3, quality=10)
    entries = [
        ReleaseEntry(1, "A", ADDED_AT, pdq=benign_pdq, pdq_quality=100),
        ReleaseEntry(2, "B", ADDED_AT, md5=random_md5(), vpdq=tuple(clip)),
        ReleaseEntry(3, "C", ADDED_AT, md5=random_md5(), vpdq=tuple(other_clip)),
        ReleaseEntry(4, "A", ADDED_AT, md5=random_md5(), vpdq=tuple(dark_clip)),
    ]
    hotline.publish(
        0, 1, [{k: v for k, v in e.record().items() if k != "id"} | {"id": e.id} for e in entries]
    )
    updates, _ = fetch(exchange, None)

    # entry 4's frames are all under the quality threshold: no vPDQ could match, but the
    # video's whole-file MD5 still travels, as threatexchange's video_md5
    assert set(updates) == {1, 2, 3, 4}
    video = updates[2]
    assert video is not None and video.pdq is None
    assert video.vpdq == vpdq_signal(entries[1])  # the same string the release file writes
    assert updates[1] is not None and updates[1].vpdq is None and updates[1].video_md5 is None
    dark = updates[4]
    assert dark is not None and dark.vpdq is None and dark.video_md5 == entries[3].md5

    signals = exchange.naive_convert_to_signal_type(
        [PdqSignal, vpdq_signal_type, VideoMD5Signal], exchange.collab, updates
    )
    assert set(signals[PdqSignal]) == {benign_pdq}
    assert {r.entry_id for r in signals[vpdq_signal_type].values()} == {2, 3}
    assert {md5: r.entry_id for md5, r in signals[VideoMD5Signal].items()} == {
        e.md5: e.id for e in entries[1:]
    }
    tags = {r.entry_id: r.get_as_opinions()[0].tags for r in signals[VideoMD5Signal].values()}
    assert tags == {2: {"category_b"}, 3: {"category_c"}, 4: {"category_a"}}
    only_pdq = exchange.naive_convert_to_signal_type([PdqSignal], exchange.collab, updates)
    assert set(only_pdq) == {PdqSignal}  # a caller without vPDQ gets the images only

    index = vpdq_signal_type.get_index_cls().build(signals[vpdq_signal_type].items())
    query = vpdq_signal(ReleaseEntry(9, "A", ADDED_AT, vpdq=tuple(clip)))
    assert [m.metadata.entry_id for m in index.query(query)] == [2]
    unrelated = vpdq_signal(ReleaseEntry(9, "A", ADDED_AT, vpdq=tuple(video_frames(4))))
    assert index.query(unrelated) == []


def test_a_malformed_vpdq_is_skipped_not_fatal(
    hotline: FakeHotline, exchange: HotlineSignalExchangeAPI, benign_pdq: str
) -> None:
    hotline.publish(
        0,
        1,
        [
            {"id": 1, "category": "A", "pdq": benign_pdq, "added_at": ADDED_AT},
            {"id": 2, "category": "B", "vpdq": [{"frame": 0, "pdq": "ab"}], "added_at": ADDED_AT},
            {"id": 3, "category": "B", "vpdq": "not a list", "added_at": ADDED_AT},
        ],
    )
    updates, checkpoint = fetch(exchange, None)
    assert set(updates) == {1} and checkpoint.version == 1


def test_a_list_tighter_than_hmas_pdq_threshold_is_warned_once_a_fetch(
    hotline: FakeHotline,
    exchange: HotlineSignalExchangeAPI,
    releases: Releases,
    caplog: pytest.LogCaptureFixture,
) -> None:
    hotline.publish(0, 1, releases.v1(), header={"pdq_max_distance": 20})
    with caplog.at_level(logging.WARNING, logger="hotline_client.te_exchange"):
        _, checkpoint = fetch(exchange, None)
    warned = [r.getMessage() for r in caplog.records if "HMA matches" in r.getMessage()]
    assert len(warned) == 1 and "within 20 bits" in warned[0] and "own 31" in warned[0]

    caplog.clear()  # the next delta says 31, HMA's own: nothing to warn of
    with caplog.at_level(logging.WARNING, logger="hotline_client.te_exchange"):
        fetch(exchange, checkpoint)
    assert not [r for r in caplog.records if "HMA matches" in r.getMessage()]

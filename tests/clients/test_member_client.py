"""The member client (clients/python, distribution `hotline-client`) on its own.

1. Installed by pip into a fresh virtual environment, with none of the server's dependencies
   (`import fastapi` fails there), it verifies a release this server signed, refuses an altered
   copy, and matches offline exactly as `hotline match` does on the same release; its sync
   and async clients call a live server's match API and fetch a release from there; with the
   `threatexchange` extra added, the exchange plug-in imports (still no server dependency).
2. In this environment, the sync and async clients against a live server: one hash, a
   batch, an upload, and the server's refusals as `MatchError` with status and code.
3. Field errors, request ids and rate limits reach the caller, sync and async.
4. A release fetched, verified and put in place, and a delta applied, without the server.

Images: shapes drawn with Pillow (tests/matching/helpers); videos: drawn clips.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from fastapi import FastAPI
from hotline_client import (
    AsyncMatchClient,
    DeltaError,
    FieldProblem,
    Keyring,
    ListFetcher,
    MatchClient,
    MatchError,
    OfflineMatcher,
    ResponseMeta,
    apply_delta,
    verify_release,
)
from hotline_client.api import _error
from hotline_client.release import SignatureError
from typer.testing import CliRunner

from hotline.cli import app as cli_app
from hotline.config import Settings
from hotline.db.engine import Database
from hotline.hashing import hash_bytes
from hotline.hashing.signals import VpdqSignal
from hotline.hashing.vpdq import vpdq_from_bytes
from hotline.lists import release, signing
from hotline.lists.api import release_root
from hotline.matching import store
from hotline.matching.model import NewEntry
from hotline.matching.service import MatchConfig
from tests.lists.helpers import drawn_video
from tests.matching.helpers import entry_for, flip_bits, shapes_png

ROOT = Path(__file__).resolve().parents[2]
LIST = "member-hashes"


@pytest.fixture
def served(app: FastAPI, db: Database, settings: Settings, tmp_path: Path) -> dict[str, Any]:
    """A list with two images and a video, released and signed; a key for it and one for
    nothing; the keyring as a member downloads it."""
    app.state.match_config = MatchConfig(refresh_seconds=0, rate_limit=1000)
    images = [shapes_png(1), shapes_png(2)]
    clip = drawn_video(2)
    video = NewEntry(
        category="B",
        md5=hashlib.md5(clip).hexdigest(),
        vpdq=VpdqSignal.serialise(vpdq_from_bytes(clip)),
    )
    with db.write() as session:
        store.create_list(session, LIST)
        store.create_list(session, "other")
        store.add_entries(
            session, LIST, [entry_for(images[0], "A"), entry_for(images[1], "C"), video]
        )
        store.create_member(session, "example-platform")
        key, _ = store.create_key(session, "example-platform", [LIST])
    made = release.publish(db, release_root(settings), LIST, settings.secret, "test")
    with db.read() as session:
        keyring = signing.keyring(session)
    keyring_file = tmp_path / "keyring.json"
    keyring_file.write_text(json.dumps(keyring.to_json()))
    return {
        "key": key.key,
        "release": made.path,
        "keyring": keyring_file,
        "images": images,
        "clip": clip,
        "pdq": [hash_bytes(i).pdq.hex for i in images],  # type: ignore[union-attr]
    }


# -- 1. a fresh virtual environment --------------------------------------------------------------

_IN_VENV = """
import asyncio, json, shutil, sys
from pathlib import Path
args = json.loads(sys.argv[1])
out = {}
for server_dep in ("fastapi", "sqlalchemy", "hotline"):
    try:
        __import__(server_dep)
        out[server_dep] = "importable"
    except ImportError:
        out[server_dep] = "missing"

from hotline_client import (AsyncMatchClient, Keyring, MatchClient, OfflineMatcher, ReleaseError,
                            verify_release)
from hotline_client.vpdq import VideoRule

keyring = Keyring.load(args["keyring"])
checked = verify_release(args["release"], keyring)
out["verified"] = [checked.list, checked.version, checked.entries]
matcher = OfflineMatcher.from_release(checked)
def hits(found):
    return [[m.entry_id, m.category, m.distance, m.signal] for m in found]
out["offline"] = {q: hits(matcher.match_hash(*q.split(":", 1))) for q in args["queries"]}
out["video"] = hits(matcher.match_video([tuple(f) for f in args["frames"]]))

altered = Path(args["scratch"]) / "altered"
shutil.copytree(args["release"], altered)
with (altered / "entries.jsonl").open("a") as handle:
    handle.write("\\n")
try:
    verify_release(altered, keyring)
    out["altered"] = "accepted"
except ReleaseError as exc:
    out["altered"] = str(exc)

with MatchClient(args["url"], args["key"]) as client:
    out["api_sync"] = hits(client.match_hash("pdq", args["pdq"]).matches)
from hotline_client import ListFetcher
with ListFetcher(args["url"], args["key"]) as fetcher:
    fetched = fetcher.fetch_release(args["list"], Path(args["scratch"]) / "fetched", keyring)
out["fetched"] = [fetched.list, fetched.version, fetched.entries]
async def main():
    async with AsyncMatchClient(args["url"], args["key"]) as client:
        return hits((await client.match_hashes([("pdq", args["pdq"])]))[0].matches)
out["api_async"] = asyncio.run(main())
print(json.dumps(out))
"""

_PLUG_IN = """
from hotline_client.te_exchange import HotlineSignalExchangeAPI
print(HotlineSignalExchangeAPI.get_name())
try:
    import fastapi
    print("importable")
except ImportError:
    print("missing")
"""


@pytest.mark.slow
def test_the_client_alone_in_a_fresh_venv(
    served: dict[str, Any], live_server: str, tmp_path: Path, db: Database
) -> None:
    source = tmp_path / "client-src"  # built from a copy: nothing lands in the work tree
    shutil.copytree(
        ROOT / "clients" / "python", source, ignore=shutil.ignore_patterns("build", "*.egg-info")
    )
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    install = subprocess.run(
        [*pip, str(source)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert install.returncode == 0, install.stderr[-2000:]

    near = flip_bits(served["pdq"][0], 6, np.random.default_rng(3))
    queries = [
        f"pdq:{near}",
        f"pdq:{served['pdq'][1]}",
        f"md5:{hashlib.md5(served['images'][1]).hexdigest()}",
        f"md5:{hashlib.md5(served['clip']).hexdigest()}",
        f"sha256:{'0' * 64}",
    ]
    frames = [(f.pdq, f.quality) for f in vpdq_from_bytes(drawn_video(2, frames=10))]
    args = {
        "keyring": str(served["keyring"]),
        "release": str(served["release"]),
        "scratch": str(tmp_path),
        "queries": queries,
        "frames": frames,
        "url": live_server,
        "key": served["key"],
        "pdq": near,
        "list": LIST,
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    run = subprocess.run(
        [str(python), "-c", _IN_VENV, json.dumps(args)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env=env,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["fastapi"] == out["sqlalchemy"] == out["hotline"] == "missing"
    assert out["verified"] == out["fetched"] == [LIST, 1, 3]
    assert "entries.jsonl" in out["altered"]

    # The same queries through `hotline match` on the same release: the same answers.
    entries = served["release"] / "entries.jsonl"
    result = CliRunner().invoke(cli_app, ["match", "--list", str(entries), *queries])
    assert result.exit_code == 0, result.output
    server = {
        r["input"]: [
            [m["entry_id"], m["category"], m["distance"], m["signal"]] for m in r["matches"]
        ]
        for r in map(json.loads, result.output.splitlines())
    }
    assert out["offline"] == server
    assert [len(server[q]) for q in queries] == [1, 1, 1, 1, 0]  # each kind found, and a miss
    video_file = tmp_path / "query.mp4"
    video_file.write_bytes(drawn_video(2, frames=10))
    result = CliRunner().invoke(cli_app, ["match", "--list", str(entries), str(video_file)])
    video_hits = [
        [m["entry_id"], m["category"], m["distance"], m["signal"]]
        for m in json.loads(result.output)["matches"]
        if m["signal"] == "vpdq"
    ]
    assert out["video"] == video_hits and len(video_hits) == 1

    assert out["api_sync"] == out["api_async"] == server[queries[0]]

    # The plug-in's extra, added to the same environment (all of the above ran without it):
    # python-threatexchange comes, the server's dependencies still do not.
    extra = subprocess.run(
        [*pip, f"{source}[threatexchange]"], capture_output=True, text=True, check=False
    )
    assert extra.returncode == 0, extra.stderr[-2000:]
    plug_in = subprocess.run(
        [str(python), "-c", _PLUG_IN], capture_output=True, text=True, check=False, env=env
    )
    assert plug_in.returncode == 0, plug_in.stderr[-3000:]
    assert plug_in.stdout.split() == ["hotline", "missing"]


# -- 2. the match API clients --------------------------------------------------------------------


def test_sync_client_against_a_live_server(served: dict[str, Any], live_server: str) -> None:
    with MatchClient(live_server, served["key"]) as client:
        one = client.match_hash("pdq", served["pdq"][0])
        assert one.matched and one.type == "pdq"
        assert [(m.list, m.category, m.distance, m.signal) for m in one.matches] == [
            (LIST, "A", 0, "pdq")
        ]
        assert one.lists == ((LIST, 1),)
        batch = client.match_hashes([("pdq", served["pdq"][1]), ("md5", "0" * 32)])
        assert [r.matched for r in batch] == [True, False]
        assert batch[0].matches[0].category == "C"
        upload = client.match_file(served["images"][1], filename="shapes.png")
        assert upload.type == "upload"
        assert [m.category for m in upload.matches] == ["C"]

        with pytest.raises(MatchError) as bad_hash:
            client.match_hash("pdq", "not-hex")
        assert (bad_hash.value.status, bad_hash.value.code) == (422, "invalid_input")
        with pytest.raises(MatchError) as out_of_scope:
            client.match_hash("pdq", served["pdq"][0], lists=["other"])
        assert out_of_scope.value.status == 403
        with pytest.raises(ValueError):
            client.match_hashes([])

    with MatchClient(live_server, "hlk_000000000000_" + "0" * 32) as stranger:
        with pytest.raises(MatchError) as refused:
            stranger.match_hash("pdq", served["pdq"][0])
        assert (refused.value.status, refused.value.code) == (401, "unauthorized")


def test_async_client_against_a_live_server(served: dict[str, Any], live_server: str) -> None:
    async def calls() -> tuple[Any, Any, MatchError]:
        async with AsyncMatchClient(live_server, served["key"]) as client:
            one = await client.match_hash("pdq", served["pdq"][1])
            upload = await client.match_file(served["images"][0])
            try:
                await client.match_hash("md5", "xyz")
            except MatchError as exc:
                return one, upload, exc
        raise AssertionError("a malformed hash was answered")

    # A thread of its own: an earlier test in the session may leave a loop set on this one.
    with ThreadPoolExecutor(1) as pool:
        one, upload, refused = pool.submit(lambda: asyncio.run(calls())).result()
    assert [(m.category, m.distance) for m in one.matches] == [("C", 0)]
    assert upload.matches[0].category == "A"
    assert (refused.status, refused.code) == (422, "invalid_input")


def test_an_unreachable_server_is_a_match_error() -> None:
    with (
        MatchClient("http://127.0.0.1:9", "hlk_0_0", timeout=2) as client,
        pytest.raises(MatchError) as failed,
    ):
        client.match_hash("md5", "0" * 32)
    assert failed.value.status is None


def test_release_checks_refuse_what_was_not_signed(served: dict[str, Any], tmp_path: Path) -> None:
    from hotline_client import Keyring, ReleaseError, verify_release
    from hotline_client.release import SignatureError

    keyring = Keyring.load(served["keyring"])
    assert verify_release(served["release"], keyring).entries == 3

    def copy(name: str) -> Path:
        return Path(shutil.copytree(served["release"], tmp_path / name))

    flipped = copy("flipped")  # same size, one byte changed: only the SHA-256 can tell
    data = bytearray((flipped / "entries.jsonl").read_bytes())
    data[-2] ^= 0x01
    (flipped / "entries.jsonl").write_bytes(bytes(data))
    with pytest.raises(ReleaseError, match="SHA-256"):
        verify_release(flipped, keyring)

    extra = copy("extra")
    (extra / "notes.txt").write_text("not in the manifest")
    with pytest.raises(ReleaseError, match=r"not covered by the manifest: notes\.txt"):
        verify_release(extra, keyring)

    forged = copy("forged")  # the manifest edited after signing
    manifest = (forged / "manifest.json").read_bytes().replace(b'"version":1', b'"version":9')
    (forged / "manifest.json").write_bytes(manifest)
    with pytest.raises(SignatureError, match="does not match"):
        verify_release(forged, keyring)

    with pytest.raises(SignatureError, match="not in the keyring"):
        verify_release(served["release"], Keyring([]))


# -- 3. what the answers' headers say, and the server's field errors --------------------------


def test_field_errors_request_ids_and_limits_reach_the_caller(
    served: dict[str, Any], live_server: str
) -> None:
    with MatchClient(live_server, served["key"]) as client:
        result = client.match_hash("pdq", served["pdq"][0])
        assert result.meta.request_id and len(result.meta.request_id) == 32
        limit = result.meta.rate_limit
        assert limit is not None and limit.limit == 1000 and 0 <= limit.remaining < 1000
        # Two problems in one body: each reaches the caller as the field and its message.
        with pytest.raises(MatchError) as bad:
            client.match_hashes([("pdq", "not-hex"), ("md5", "xyz")])
    error = bad.value
    assert (error.status, error.code) == (422, "invalid_input")
    assert error.fields and all(isinstance(f, FieldProblem) for f in error.fields)
    assert [f.field for f in error.fields] == ["hashes.0.value", "hashes.1.value"]
    assert all(f.message for f in error.fields)
    assert error.request_id and error.request_id != result.meta.request_id
    assert error.meta.rate_limit is not None

    async def refused() -> MatchError:
        async with AsyncMatchClient(live_server, served["key"]) as client:
            found = await client.match_hash("pdq", served["pdq"][1])
            assert found.meta.request_id and found.meta.rate_limit is not None
            try:
                await client.match_hash("md5", "xyz")
            except MatchError as exc:
                return exc
        raise AssertionError("a malformed hash was answered")

    with ThreadPoolExecutor(1) as pool:
        async_error = pool.submit(lambda: asyncio.run(refused())).result()
    assert async_error.request_id and async_error.fields


def test_error_fields_in_any_other_shape_are_dropped_not_garbled() -> None:
    def answer(body: Any) -> MatchError:
        response = httpx.Response(422, json={"error": {"code": "x", "fields": body}})
        return _error(response)

    assert answer([{"field": "a", "message": "m"}, "junk", {"message": "no field"}]).fields == (
        FieldProblem("a", "m"),
    )
    assert answer({"a": "m"}).fields == answer(None).fields == ()
    assert answer([]).meta == ResponseMeta()


# -- 4. keeping a copy current without the server ------------------------------------------------


def test_fetch_a_release_and_apply_a_delta_without_the_server(
    served: dict[str, Any], live_server: str, db: Database, settings: Settings, tmp_path: Path
) -> None:
    keyring = Keyring.load(served["keyring"])
    into = tmp_path / "lists" / LIST
    into.mkdir(parents=True)
    (into / "stale.txt").write_text("an older copy")
    with ListFetcher(live_server, served["key"]) as fetcher:
        first = fetcher.fetch_release(LIST, into, keyring)
        assert (first.list, first.version, first.entries, first.folder) == (LIST, 1, 3, into)
        assert not (into / "stale.txt").exists()  # the old copy was replaced as a whole
        assert verify_release(into, keyring).version == 1
        copy = tmp_path / "copy.jsonl"
        shutil.copy(first.path("entries.jsonl"), copy)

        with db.write() as session:
            added = store.add_entries(session, LIST, [entry_for(shapes_png(7), "B")])
            store.withdraw_entries(session, LIST, [1], "regraded")
        release.publish(db, release_root(settings), LIST, settings.secret, "test")
        delta = fetcher.fetch_delta(LIST, 1, tmp_path / "delta", keyring)
        assert (delta.kind, delta.since, delta.version) == ("delta", 1, added.version + 1)

        done = apply_delta(copy, delta)
        assert (done.since, done.version, done.added, done.withdrawn) == (1, 3, 1, 1)
        matcher = OfflineMatcher.from_file(copy)
        assert not matcher.match_hash("pdq", served["pdq"][0])  # entry 1 was withdrawn
        assert matcher.match_hash("pdq", hash_bytes(shapes_png(7)).pdq.hex)  # type: ignore[union-attr]
        with pytest.raises(DeltaError, match="starts at version 1, the copy is at 3"):
            apply_delta(copy, delta)

        # A download that does not verify never takes the verified copy's place.
        with pytest.raises(SignatureError):
            fetcher.fetch_release(LIST, into, Keyring([]))
        assert verify_release(into, keyring).version == 1
        assert sorted(p.name for p in into.parent.iterdir()) == [LIST]  # no scratch left

        with pytest.raises(MatchError) as unknown:
            fetcher.fetch_release("other", tmp_path / "other", keyring)
        assert unknown.value.status == 403 and unknown.value.request_id

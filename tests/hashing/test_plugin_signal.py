"""Signal types as data: the example plug-in (examples/hotline-dhash, installed by
`scripts/setup.sh --dev`) found through its entry point and used by `hotline hash`, rehash,
storage by kind and the match API's validation, with no change inside hotline."""

from __future__ import annotations

import ast
import json
import logging
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from hotline_dhash import DHashSignal
from sqlalchemy import select
from typer.testing import CliRunner

import hotline.hashing
from hotline.cli import app
from hotline.config import Settings
from hotline.db.engine import Database
from hotline.errors import InvalidInput
from hotline.grading import media_signals, service
from hotline.grading.media_store import MediaStore
from hotline.grading.tables import MediaSignalRow
from hotline.hashing import (
    Comparison,
    ErrorCode,
    HashingError,
    SignalKind,
    SignalType,
    get_signal_type,
    hash_bytes,
    plugin_signal_types,
    plugin_signals_for,
    signal_type_names,
)
from hotline.hashing import signals as signals_module
from hotline.matching import validation
from hotline.security.tables import AuditRow

from .conftest import encode, shapes_image

PLUGIN = Path(__file__).resolve().parents[2] / "examples" / "hotline-dhash"


def png(seed: int) -> bytes:
    return encode(shapes_image(96, 72, seed), "PNG")


# -- the registry --------------------------------------------------------------------------------


def test_the_entry_point_adds_dhash_to_the_built_ins() -> None:
    assert signal_type_names() == ["dhash", "md5", "pdq", "sha1", "sha256", "vpdq"]
    assert get_signal_type("DHash") is DHashSignal
    assert plugin_signal_types() == [DHashSignal]
    assert DHashSignal.kind is SignalKind.DISTANCE and DHashSignal.max_distance == 10
    assert get_signal_type("sha256").kind is SignalKind.EXACT
    assert get_signal_type("vpdq").applies_to == frozenset({"video"})


def test_dhash_is_a_working_perceptual_hash() -> None:
    for example in DHashSignal.examples():
        assert DHashSignal.validate(example.upper()) == example
        assert DHashSignal.compare(example, example) == Comparison(0, True)
    a, b = DHashSignal.hash_bytes(png(1)), DHashSignal.hash_bytes(png(2))
    again = DHashSignal.hash_bytes(encode(shapes_image(96, 72, 1), "JPEG", quality=90))
    assert DHashSignal.compare(a, again).matched  # re-encoded: still near
    assert DHashSignal.compare(a, b).distance > DHashSignal.max_distance  # another picture
    with pytest.raises(HashingError) as bad:
        DHashSignal.validate("f0f0")
    assert bad.value.code is ErrorCode.INVALID_HASH
    with pytest.raises(HashingError) as not_image:
        DHashSignal.hash_bytes(b"plain text, not an image")
    assert not_image.value.code is ErrorCode.UNSUPPORTED_MEDIA


def _dist_info(root: Path, name: str, entry_points: str) -> None:
    info = root / f"{name}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[hotline.signal_types]\n{entry_points}\n")


class ClaimsPdq(DHashSignal):
    name = "pdq"


class ClaimsCategory(DHashSignal):
    name = "category"  # a list entry's own field


class BadName(DHashSignal):
    name = "Bad Name!"


class HalfDone(SignalType):  # abstract methods left out
    name = "halfdone"
    description = "a plug-in that forgot compare"


@pytest.fixture
def restore_plugins() -> Iterator[None]:
    yield
    signals_module.load_plugins(reload=True)


def test_broken_plug_ins_are_logged_and_skipped(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    restore_plugins: None,
) -> None:
    here = __name__
    _dist_info(tmp_path, "broken_import", "broken = no_such_module_anywhere:Signal")
    _dist_info(tmp_path, "not_a_signal", f"plain = {here}:png")
    _dist_info(tmp_path, "clash", f"pdq = {here}:ClaimsPdq")
    _dist_info(tmp_path, "field_clash", f"category = {here}:ClaimsCategory")
    _dist_info(tmp_path, "bad_name", f"bad = {here}:BadName")
    _dist_info(tmp_path, "half_done", f"halfdone = {here}:HalfDone")
    monkeypatch.syspath_prepend(str(tmp_path))
    with caplog.at_level(logging.ERROR, logger="hotline.hashing.signals"):
        found = signals_module.load_plugins(reload=True)
    assert found == {"dhash": DHashSignal}
    log = caplog.text
    assert "'broken = no_such_module_anywhere:Signal' could not be loaded" in log
    assert "is not a SignalType subclass" in log
    assert "claims the taken name 'pdq', refused" in log
    assert (
        f"'category = {here}:ClaimsCategory' is named 'category', a field list entries "
        "already use, refused"
    ) in log
    assert "category" not in signal_type_names()
    assert "invalid name 'Bad Name!'" in log
    assert "does not implement compare, hash_bytes, validate" in log
    assert get_signal_type("pdq").name == "pdq" and get_signal_type("pdq") is not ClaimsPdq


def test_a_plug_in_failing_on_one_file_is_left_out(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    class Boom(DHashSignal):
        name = "boom"

        @classmethod
        def hash_bytes(cls, data: bytes) -> str:
            raise RuntimeError("plug-in bug")

    monkeypatch.setattr(signals_module, "_REGISTRY", dict(signals_module._REGISTRY))
    signals_module.register_signal_type(Boom)
    data = png(3)
    with caplog.at_level(logging.WARNING, logger="hotline.hashing.signals"):
        assert plugin_signals_for(data, "image") == {"dhash": DHashSignal.hash_bytes(data)}
    assert "signal type 'boom' could not hash a image" in caplog.text
    assert plugin_signals_for(data, "video") == {}  # dhash applies to images only


def test_the_plug_in_imports_only_hotlines_public_interface() -> None:
    """Structural proof that adding it changed no file under src/hotline: its only hotline
    import is `from hotline.hashing import <name in __all__>`."""
    public = set(hotline.hashing.__all__)
    for source in (PLUGIN / "hotline_dhash").rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("hotline") for a in node.names), source
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("hotline"):
                assert node.module == "hotline.hashing", (source, node.module)
                assert {a.name for a in node.names} <= public
    meta = tomllib.loads((PLUGIN / "pyproject.toml").read_text())
    group = meta["project"]["entry-points"]["hotline.signal_types"]
    assert group == {"dhash": "hotline_dhash:DHashSignal"}


# -- hotline hash --signal ------------------------------------------------------------------------


def test_hotline_hash_computes_a_plug_in_signal(tmp_path: Path) -> None:
    picture = tmp_path / "card.png"
    picture.write_bytes(png(4))
    text = tmp_path / "notes.txt"
    text.write_bytes(b"not media")
    runner = CliRunner()
    result = runner.invoke(app, ["hash", "--signal", "dhash", "-s", "pdq", str(picture)])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record == {
        "path": str(picture),
        "media": "image",
        "dhash": DHashSignal.hash_bytes(png(4)),
        "pdq": hash_bytes(png(4)).pdq.hex,  # type: ignore[union-attr]
    }
    failed = runner.invoke(app, ["hash", "--signal", "dhash", str(text)])
    assert failed.exit_code == 1 and "unsupported_media" in failed.stdout
    unknown = runner.invoke(app, ["hash", "--signal", "phash", str(picture)])
    assert unknown.exit_code == 2
    assert "unknown signal type 'phash' (known: dhash, md5" in unknown.stderr


# -- storage by kind: capture and rehash ----------------------------------------------------------


def _register(
    db: Database, data: bytes, *, stored: bool, signals: dict[str, str] | None = None
) -> int:
    with db.write() as session:
        item = service.register_media(
            session,
            url_id=None,
            source_url="https://gallery.example/x.png",
            kind="image",
            hashes=service.MediaHashesIn.of(hash_bytes(data), signals),
            byte_count=len(data),
            stored=stored,
            purge_after=None,
        )
    return item.id


def _stored_signals(db: Database) -> dict[int, str]:
    with db.read() as session:
        rows = session.execute(
            select(MediaSignalRow.media_id, MediaSignalRow.value).where(
                MediaSignalRow.signal_type == "dhash"
            )
        ).all()
    return {media_id: value for media_id, value in rows}


def test_registering_media_stores_its_plug_in_signals(db: Database) -> None:
    data = png(5)
    media_id = _register(db, data, stored=False, signals=plugin_signals_for(data, "image"))
    with db.write() as session:
        assert media_signals.signals_of(session, media_id) == {
            "dhash": DHashSignal.hash_bytes(data)
        }
        # Recording the same again (a retried batch) changes nothing.
        assert media_signals.record(session, media_id, {"dhash": "0" * 16}) == 0
    assert _stored_signals(db) == {media_id: DHashSignal.hash_bytes(data)}


@pytest.fixture
def media_store(settings: Settings) -> MediaStore:
    return MediaStore(settings.data_dir / "media", settings.secret)


def test_rehash_fills_missing_rows_resumably_and_idempotently(
    db: Database, media_store: MediaStore
) -> None:
    images = {seed: png(seed) for seed in range(10, 15)}
    ids = {}
    for seed, data in images.items():
        ids[seed] = _register(db, data, stored=True)
        media_store.put(ids[seed], data)
    hash_only = _register(db, png(20), stored=False)
    media_store.delete(ids[14])  # stored, but its file is gone: a failure, retried next run
    totals: list[int] = []

    first = media_signals.rehash(
        db, media_store, DHashSignal, actor="test", batch=2, limit=3, started=totals.append
    )
    assert (first.computed, first.failed, first.hash_only, first.remaining) == (3, 0, 1, 2)
    assert set(_stored_signals(db)) == {ids[10], ids[11], ids[12]}  # as if killed here
    second = media_signals.rehash(db, media_store, DHashSignal, actor="test", batch=2)
    assert (second.computed, second.failed, second.remaining) == (1, 1, 1)
    assert totals == [3]
    stored = _stored_signals(db)
    assert hash_only not in stored and ids[14] not in stored
    assert stored == {ids[s]: DHashSignal.hash_bytes(images[s]) for s in (10, 11, 12, 13)}
    media_store.put(ids[14], images[14])
    third = media_signals.rehash(db, media_store, DHashSignal, actor="test")
    assert (third.computed, third.failed, third.remaining) == (1, 0, 0)
    again = media_signals.rehash(db, media_store, DHashSignal, actor="test")
    assert (again.computed, again.failed, again.remaining, again.hash_only) == (0, 0, 0, 1)
    with db.read() as session:
        audited = session.execute(
            select(AuditRow.detail).where(AuditRow.action == "media.rehashed")
        ).scalars()
        details = [json.loads(d) for d in audited]
    assert [d["computed"] for d in details] == [3, 1, 1, 0]


@pytest.fixture
def cli_env(db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("HOTLINE_DATABASE_URL", db.url)
    monkeypatch.setenv("HOTLINE_SECRET_KEY", settings.secret.decode())
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(settings.data_dir))
    return CliRunner()


def test_media_rehash_command(cli_env: CliRunner, db: Database, media_store: MediaStore) -> None:
    for seed in (30, 31):
        data = png(seed)
        media_store.put(_register(db, data, stored=True), data)
    partial = cli_env.invoke(app, ["media", "rehash", "--signal", "dhash", "--limit", "1"])
    assert partial.exit_code == 0, partial.output
    assert "dhash: computed 1, failed 0, hash-only skipped 0, still missing 1" in partial.stdout
    rest = cli_env.invoke(app, ["media", "rehash", "--signal", "dhash", "--progress"])
    assert rest.exit_code == 0 and "computed 1" in rest.stdout and "still missing 0" in rest.stdout
    assert "rehash dhash" in rest.stderr  # the progress bar
    assert len(_stored_signals(db)) == 2
    unknown = cli_env.invoke(app, ["media", "rehash", "--signal", "phash"])
    assert unknown.exit_code == 2 and "unknown signal type 'phash'" in unknown.stderr
    built_in = cli_env.invoke(app, ["media", "rehash", "--signal", "pdq"])
    assert built_in.exit_code == 2 and "pdq is built in" in built_in.stderr


# -- the match API's validation -------------------------------------------------------------------


def test_match_validation_asks_the_registry() -> None:
    query = validation.hash_value("dhash", " F0F0F0F0F0F0F0F0 ")
    assert (query.type, query.value) == ("dhash", "f0f0f0f0f0f0f0f0")
    with pytest.raises(InvalidInput) as bad_value:
        validation.hash_value("dhash", "f0f0")
    assert [f.field for f in bad_value.value.fields] == ["value"]
    with pytest.raises(InvalidInput) as unknown:
        validation.hash_value("phash", "f0f0f0f0f0f0f0f0")
    assert "use one of md5, sha1, sha256, pdq, dhash" in unknown.value.message
    with pytest.raises(InvalidInput):
        validation.hash_value("vpdq", "0,100," + "f" * 64 + ",0.0")  # a video is uploaded


def test_rehash_leaves_media_the_signal_does_not_apply_to(
    db: Database, media_store: MediaStore
) -> None:
    with db.write() as session:
        video = service.register_media(
            session,
            url_id=None,
            source_url="https://gallery.example/clip.mp4",
            kind="video",
            hashes=service.MediaHashesIn("1" * 32, "1" * 40, "1" * 64, None, None, "0,100,x,0"),
            byte_count=3,
            stored=True,
            purge_after=None,
        )
    media_store.put(video.id, b"not read: dhash hashes images only")
    result = media_signals.rehash(db, media_store, DHashSignal, actor="test")
    assert (result.computed, result.failed, result.hash_only, result.remaining) == (0, 0, 0, 0)
    assert _stored_signals(db) == {}


def test_media_rehash_exits_1_when_items_failed(
    cli_env: CliRunner, db: Database, media_store: MediaStore
) -> None:
    _register(db, png(40), stored=True)  # registered as stored, but its file was never put
    result = cli_env.invoke(app, ["media", "rehash", "--signal", "dhash"])
    assert result.exit_code == 1
    assert "computed 0, failed 1, hash-only skipped 0, still missing 1" in result.stdout

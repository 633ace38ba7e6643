"""Uploaded bytes never touch disk: no temporary file, spooled or not, is made for them.

Every way Python makes a temporary file is wrapped to record its use, every file opened for
writing through `os.open` / `open` is recorded, and TMPDIR points at an empty folder. A
control route that parses the same upload with Starlette's `request.form()` shows that
the recorders do catch spooling.
"""

from __future__ import annotations

import builtins
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from starlette import formparsers

from hotline.db.engine import Database
from tests.matching.conftest import bearer
from tests.matching.helpers import VIDEO, entry_for, make_key, make_list, noise_png

_SQLITE_SUFFIXES = (".db", ".db-wal", ".db-shm", ".db-journal")


class DiskSpy:
    def __init__(self) -> None:
        self.events: list[str] = []

    def wrap(self, name: str, original: Any) -> Any:
        def spy(*args: Any, **kwargs: Any) -> Any:
            self.events.append(name)
            return original(*args, **kwargs)

        return spy


@pytest.fixture
def disk_spy(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[tuple[DiskSpy, Path]]:
    spy = DiskSpy()
    scratch = tmp_path / "tmpdir"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    for name in (
        "SpooledTemporaryFile",
        "TemporaryFile",
        "NamedTemporaryFile",
        "mkstemp",
        "mkdtemp",
    ):
        monkeypatch.setattr(tempfile, name, spy.wrap(f"tempfile.{name}", getattr(tempfile, name)))
    monkeypatch.setattr(
        formparsers,
        "SpooledTemporaryFile",
        spy.wrap("starlette.SpooledTemporaryFile", formparsers.SpooledTemporaryFile),
    )
    real_os_open, real_open = os.open, builtins.open

    def os_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT) and not str(path).endswith(
            _SQLITE_SUFFIXES
        ):
            spy.events.append(f"os.open {path}")
        return real_os_open(path, flags, *args, **kwargs)

    def open_(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if any(c in mode for c in "wax+") and not str(file).endswith(_SQLITE_SUFFIXES):
            spy.events.append(f"open {file}")
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.setattr(builtins, "open", open_)
    yield spy, scratch


def test_a_large_upload_is_hashed_without_touching_disk(
    match_app: FastAPI, db: Database, disk_spy: tuple[DiskSpy, Path]
) -> None:
    spy, scratch = disk_spy
    image = noise_png()
    assert len(image) > 3 * 1024 * 1024  # well past Starlette's 1 MiB spooling threshold
    make_list(db, "alpha", [entry_for(image, "A")])
    key = make_key(db, "m", ["alpha"])
    with TestClient(match_app) as client:
        spy.events.clear()
        response = client.post(
            "/api/v1/match", files={"file": ("n.png", image, "image/png")}, headers=bearer(key)
        )
    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["matches"][0]["distance"] == 0
    assert spy.events == []
    assert list(scratch.iterdir()) == []


def test_the_spy_does_catch_starlette_spooling(
    match_app: FastAPI, disk_spy: tuple[DiskSpy, Path]
) -> None:
    """Control: the same upload through `request.form()` is spooled, and the spy sees it."""
    spy, _ = disk_spy

    @match_app.post("/spool-probe")
    async def probe(request: Request) -> dict[str, int]:
        async with request.form() as form:
            upload = form["file"]
            assert not isinstance(upload, str)
            return {"size": len(await upload.read())}

    with TestClient(match_app) as client:
        spy.events.clear()
        image = noise_png()
        response = client.post("/spool-probe", files={"file": ("n.png", image, "image/png")})
    assert response.json() == {"size": len(image)}
    assert "starlette.SpooledTemporaryFile" in spy.events
    assert "tempfile.TemporaryFile" in spy.events  # it rolled over to a real file on disk


@pytest.mark.slow
def test_a_video_upload_is_decoded_without_touching_disk(
    match_app: FastAPI, db: Database, disk_spy: tuple[DiskSpy, Path]
) -> None:
    spy, scratch = disk_spy
    make_list(db, "alpha")
    key = make_key(db, "m", ["alpha"])
    with TestClient(match_app) as client:
        spy.events.clear()
        response = client.post(
            "/api/v1/match",
            files={"file": ("v.mp4", VIDEO.read_bytes(), "video/mp4")},
            headers=bearer(key),
        )
    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["media"] == "video"
    assert spy.events == []
    assert list(scratch.iterdir()) == []

"""Hash-only mode (HOTLINE_HASH_ONLY=true): a capture hashes and records every item, and keeps
no media bytes anywhere: no media files, nothing in the database, nothing to display."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from hotline.assess.fetcher import FetchPolicy
from hotline.config import Settings
from hotline.db.engine import Database
from hotline.grading import service
from tests.assess.conftest import FAKE_PUBLIC_IP, LoopbackNat, draw_image
from tests.conftest import csrf_from

FIRST, SECOND = draw_image(11), draw_image(12, "JPEG")
PAGE = b'<!doctype html><html><body><img src="/a.png"><img src="/b.jpg"></body></html>'


class Site(BaseHTTPRequestHandler):
    files: ClassVar[dict[str, tuple[str, bytes]]] = {
        "/page.html": ("text/html", PAGE),
        "/a.png": ("image/png", FIRST),
        "/b.jpg": ("image/jpeg", SECOND),
    }

    def do_GET(self) -> None:
        content_type, body = self.files[self.path]
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def site() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Site)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared test settings, in hash-only mode."""
    settings.hash_only = True
    return settings


def test_hash_only_capture_keeps_no_media(
    app: FastAPI,
    site: int,
    login_as: Callable[[list[str]], TestClient],
    db: Database,
    settings: Settings,
    tmp_path: Path,
) -> None:
    assert app.state.media_store is None
    app.state.fetch_policy = FetchPolicy(
        resolver=lambda host, port: [FAKE_PUBLIC_IP],
        network_backend=LoopbackNat(site, site),
    )
    with TestClient(app) as public:
        public.post("/api/v1/reports", json={"url": "http://gallery.example/page.html"})
    analyst = login_as(["analyst"])
    token = csrf_from(analyst.get("/staff/queue").text)
    case_url = analyst.post(
        "/staff/queue/claim-next", data={"csrf_token": token}, follow_redirects=False
    ).headers["location"]
    captured = analyst.post(f"{case_url}/capture", data={"csrf_token": token})
    assert captured.status_code == 200 and "2 new" in captured.text

    url_id = int(case_url.rsplit("/", 1)[1])
    with db.read() as session:
        items = service.items_for_url(session, url_id)
    # Hashed and waiting for grades, but marked as not stored.
    assert len(items) == 2
    assert all(i.status is service.MediaStatus.awaiting_grades for i in items)
    assert all(not i.stored and i.pdq for i in items)

    # No media files, and the bytes are nowhere on disk (the SQLite database included).
    media_dir = settings.data_dir / "media"
    assert not media_dir.exists() or not [p for p in media_dir.rglob("*") if p.is_file()]
    for path in (p for p in tmp_path.rglob("*") if p.is_file()):
        data = path.read_bytes()
        assert FIRST[-200:] not in data and SECOND[-200:] not in data, path

    # Nothing to show: no preview, no reveal.
    page = analyst.get(f"/staff/grading/{items[0].id}")
    assert "No media is stored for this item" in page.text and 'id="reveal"' not in page.text
    assert analyst.get(f"/staff/media/{items[0].id}/thumb").status_code == 403

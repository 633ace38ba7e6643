"""With the database out of reach, /healthz/ready says not ready (503) and /healthz/live still
answers: the orchestrator stops sending traffic but does not restart a process that is fine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from hotline.config import load_settings
from hotline.web.app import create_app
from tests.conftest import TEST_SECRET, free_port


@pytest.fixture(params=["sqlite-directory", "postgresql-closed-port"])
def unreachable_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite-directory":
        # The database "file" is a directory: SQLite cannot open it.
        target = tmp_path / "not-a-database-file"
        target.mkdir()
        return f"sqlite:///{target}"
    # Nothing listens on this local port (the socket that found it is closed again).
    port = free_port()
    return f"postgresql+psycopg://hotline:pw-{port}@127.0.0.1:{port}/hotline?connect_timeout=5"


@pytest.fixture
def down_client(unreachable_url: str, tmp_path: Path) -> Iterator[TestClient]:
    settings = load_settings(
        mode="development",
        data_dir=tmp_path / "data",
        database_url=unreachable_url,
        secret_key=TEST_SECRET,
    )
    app = create_app(settings)  # the app builds its own engines from the URL
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
    app.state.db.dispose()


def test_ready_is_503_and_live_is_200(down_client: TestClient) -> None:
    ready = down_client.get("/healthz/ready")
    assert ready.status_code == 503
    body = ready.json()
    assert (body["status"], body["checks"]) == ("not_ready", {"database": "unreachable"})
    assert body["error"]["code"] == "not_ready"  # the one error shape, like every JSON error
    assert ready.headers["content-type"].startswith("application/json")
    live = down_client.get("/healthz/live")
    assert live.status_code == 200 and live.json() == {"status": "ok"}


def test_nothing_internal_leaks_while_the_database_is_down(down_client: TestClient) -> None:
    ready = down_client.get("/healthz/ready")
    report = down_client.post("/api/v1/reports", json={"url": "https://example.com/while-down"})
    assert report.status_code == 500
    body = report.json()
    assert body["error"]["code"] == "internal_error" and body["error"]["incident"]
    for response in (ready, report):
        text = response.text.lower()
        for secret in ("not-a-database-file", "127.0.0.1", "pw-", "sqlite", "psycopg"):
            assert secret not in text, f"{secret!r} revealed in {response.url}"

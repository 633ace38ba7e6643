"""Two hotline instances on loopback, each with its own database and live server, and a guard
that no test here connects anywhere but 127.0.0.1."""

from __future__ import annotations

import ipaddress
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from hotline.assess.fetcher import FetchPolicy
from hotline.config import Settings, load_settings
from hotline.db.engine import Database
from hotline.web.app import create_app
from tests.conftest import TEST_SECRET, free_port
from tests.jobs.drain import drain

# Only loopback: the partner instances here are 127.0.0.1 servers; nothing else may be dialled.
LOOPBACK = FetchPolicy(
    allow_networks=(ipaddress.ip_network("127.0.0.1/32"),),
    connect_timeout_s=2.0,
    read_timeout_s=5.0,
)


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else ""
        if host not in ("127.0.0.1", "::1"):
            raise AssertionError(f"test tried a non-loopback connection to {address!r}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


class LiveServer:
    """A uvicorn server for one app on a port chosen up front, so it can start late (a partner
    that was offline) and stop (one that goes offline)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("live server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._server = self._thread = None


@dataclass
class Instance:
    name: str
    settings: Settings
    db: Database
    server: LiveServer

    @property
    def url(self) -> str:
        return self.server.url

    def run_jobs(self) -> int:
        return drain(self.db, self.settings, LOOPBACK)


def _instance(name: str, db: Database, data_dir: Path, secret: str) -> Instance:
    settings = load_settings(
        mode="development",
        data_dir=data_dir,
        database_url=db.url,
        secret_key=secret,
        organisation_name=name,
        exchange_timeout_seconds=5,
    )
    return Instance(name, settings, db, LiveServer(create_app(settings, db)))


@pytest.fixture
def instance_a(db: Database, tmp_path: Path) -> Iterator[Instance]:
    """Hotline A on the test's database (SQLite, and PostgreSQL when configured)."""
    inst = _instance("Hotline A", db, tmp_path / "a", TEST_SECRET)
    yield inst
    inst.server.stop()


@pytest.fixture
def instance_b(sqlite_template: Path, tmp_path: Path) -> Iterator[Instance]:
    """Hotline B on a database of its own: another SQLite file, migrated like every test's."""
    path = tmp_path / "b.db"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    inst = _instance("Hotline B", db, tmp_path / "b", "b-secret-" + "y" * 40)
    yield inst
    inst.server.stop()
    db.dispose()

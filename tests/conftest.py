"""Shared fixtures: a real database through the migrations (SQLite always, PostgreSQL when
HOTLINE_TEST_POSTGRES_URL is set), the app in-process, signed-in staff, a live server and a
real browser (Debian's chromium driven by Playwright)."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from hotline.config import Settings, load_settings
from hotline.db import migrate
from hotline.db.base import Base
from hotline.db.engine import Database
from hotline.security import totp, users
from hotline.security.audit_keys import chain_key_from, use_default_key, use_key
from hotline.security.crypto import sealer_for
from hotline.web.app import create_app

POSTGRES_URL = os.environ.get("HOTLINE_TEST_POSTGRES_URL", "")
# Random, not a pattern: tests that run the CLI in production mode use it too, and production
# refuses guessable keys.
TEST_SECRET = "test-secret-PjoA7LF-jBMa1SU4jv_dlVIuQgBU-nooZRCTmtXGuMn6dvYb"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
CHROMIUM = "/usr/bin/chromium"

BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])


# -- databases ---------------------------------------------------------------------------------


@pytest.fixture(scope="session", autouse=True)
def audit_test_key() -> None:
    """Databases a test opens without the app or the CLI append under the test secret's key,
    the key the `settings` fixture binds too."""
    use_default_key(chain_key_from(TEST_SECRET.encode()))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrated once per run; each test gets a copy, so every test starts from the migrations."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    db = Database(f"sqlite:///{path}")
    migrate.upgrade(db)
    db.dispose()  # the last connection to close checkpoints the WAL into the main file
    return path


@pytest.fixture(scope="session")
def postgres_schema_url() -> Iterator[str]:
    """A fresh schema for this run, migrated once; tests truncate it between them."""
    if not POSTGRES_URL:
        pytest.skip("HOTLINE_TEST_POSTGRES_URL is not set")
    schema = f"hotline_test_{secrets.token_hex(4)}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    url_text = url.render_as_string(hide_password=False)
    db = Database(url_text)
    migrate.upgrade(db)
    db.dispose()
    yield url_text
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def _truncate_postgres(db: Database) -> None:
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with db.writer.begin() as conn:
        # The audit tables refuse TRUNCATE by trigger; replica mode (superuser) skips triggers.
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        conn.execute(
            text("INSERT INTO audit_head (id, last_seq, last_hash) VALUES (1, 0, :h)"),
            {"h": "0" * 64},
        )
    # Seed rows that migrations insert (other than audit_head) are re-created by their owners'
    # fixtures; the advice hub seeds through seed_advice().


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        path = tmp_path / "hotline.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        database = Database(f"sqlite:///{path}")
    else:
        database = Database(request.getfixturevalue("postgres_schema_url"))
        _truncate_postgres(database)
    # Keys are bound per database URL, and PostgreSQL tests share one: start from the test key.
    use_key(database, chain_key_from(TEST_SECRET.encode()))
    yield database
    database.dispose()


# -- the app -----------------------------------------------------------------------------------


@pytest.fixture
def settings(tmp_path: Path, db: Database) -> Settings:
    return load_settings(
        mode="development",
        data_dir=tmp_path / "data",
        database_url=db.url,
        secret_key=TEST_SECRET,
        require_2fa=True,
        report_rate_limit=1000,
    )


@pytest.fixture
def app(settings: Settings, db: Database):  # type: ignore[no-untyped-def]
    return create_app(settings, db)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app) as test_client:
        yield test_client


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


class StaffFactory:
    """Creates staff accounts with two-factor enrolled and signs them in through the pages."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.count = 0

    def create(self, roles: list[str], username: str | None = None) -> tuple[str, str, str]:
        self.count += 1
        username = username or f"staff{self.count}-{secrets.token_hex(2)}"
        password = "correct horse battery " + secrets.token_hex(4)
        secret = totp.new_secret()
        with self.db.write() as session:
            user = users.create_user(session, username, password, roles)
            users.set_totp_secret(
                session, user.id, secret, sealer_for(self.settings.secret, "totp-secret")
            )
        return username, password, secret

    def login(self, client: TestClient, roles: list[str]) -> TestClient:
        username, password, secret = self.create(roles)
        sign_in(client, username, password, secret)
        return client


def sign_in(client: TestClient, username: str, password: str, secret: str) -> None:
    page = client.get("/staff/login")
    response = client.post(
        "/staff/login",
        data={"username": username, "password": password, "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    page = client.get("/staff/2fa")
    response = client.post(
        "/staff/2fa",
        data={"code": totp.current_code(secret), "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


@pytest.fixture
def staff(db: Database, settings: Settings) -> StaffFactory:
    return StaffFactory(db, settings)


@pytest.fixture
def login_as(client: TestClient, staff: StaffFactory) -> Callable[[list[str]], TestClient]:
    def _login(roles: list[str]) -> TestClient:
        return staff.login(client, roles)

    return _login


# -- a live server and a real browser ----------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def hotline_env(**settings: str) -> dict[str, str]:
    """This process's environment without any HOTLINE_* setting, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    return env | {"PYTHONUNBUFFERED": "1"} | settings


def start_serve(
    env: dict[str, str], *args: str, ready_within: float = 90
) -> tuple[subprocess.Popen[str], str]:
    """`hotline serve ARGS` in a child process on a free port, once `/healthz/ready` answers:
    the process (its output piped) and the base URL. The caller stops it."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "hotline", "serve", *args, "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + ready_within
        while True:
            try:
                if httpx.get(f"{base}/healthz/ready").status_code == 200:
                    return proc, base
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "the server did not become ready"
            time.sleep(0.3)
    except BaseException:
        proc.kill()
        proc.communicate(timeout=30)
        raise


@pytest.fixture
def live_server(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    import uvicorn

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("live server did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser():  # type: ignore[no-untyped-def]
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing; .ci/run installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):  # type: ignore[no-untyped-def]
    context = browser.new_context(locale="en-GB")
    tab = context.new_page()
    yield tab
    context.close()

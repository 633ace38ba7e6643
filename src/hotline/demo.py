"""Demo data for `hotline serve --demo`: staff accounts, advice content and benign reports.

Demo passwords and two-factor secrets are generated on first run and kept in
DATA_DIR/demo-credentials.json (mode 0600), never in the code. Sample reports name only the
reserved example domains (RFC 2606), which can never host anything.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from hotline.assess import queue
from hotline.config import Settings
from hotline.db.engine import Database
from hotline.errors import NotFound
from hotline.intake import reports
from hotline.security import audit, passwords, totp, users
from hotline.security.crypto import sealer_for
from hotline.security.tables import UserRow

DEMO_ACCOUNTS: dict[str, tuple[str, list[str]]] = {
    "admin": ("Demo Admin", ["admin"]),
    "analyst": ("Demo Analyst", ["analyst"]),
    "senior": ("Demo Senior Analyst", ["senior_analyst"]),
    "editor": ("Demo Content Editor", ["content_editor"]),
    "takedown": ("Demo Takedown Officer", ["takedown_officer"]),
}

SAMPLE_REPORTS = [
    {
        "url": "https://www.example.com/gallery/album-17?utm_source=newsletter",
        "content_type": "image",
        "country": "GB",
    },
    {"url": "https://files.example.net/share/Y2xpcA", "content_type": "video", "country": "CA"},
    {"url": "http://EXAMPLE.org:80/forum/thread/2041#post-9", "content_type": "other"},
    {"url": "https://www.example.com/gallery/album-17", "content_type": "image"},
]


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    totp_secret: str
    roles: list[str]


def _credentials_file(settings: Settings) -> Path:
    return settings.data_dir / "demo-credentials.json"


def seed_accounts(db: Database, settings: Settings) -> list[DemoAccount]:
    path = _credentials_file(settings)
    saved: dict[str, dict[str, str]] = json.loads(path.read_text()) if path.exists() else {}
    sealer = sealer_for(settings.secret, "totp-secret")
    accounts: list[DemoAccount] = []
    with db.write() as session:
        for username, (name, roles) in DEMO_ACCOUNTS.items():
            known = saved.get(username)
            try:
                existing = users.get_user(session, username)
            except NotFound:
                existing = None
            if existing is not None and known is not None:
                accounts.append(
                    DemoAccount(username, known["password"], known["totp_secret"], roles)
                )
                continue
            password = secrets.token_urlsafe(12)
            secret = totp.new_secret()
            if existing is None:
                user = users.create_user(
                    session, username, password, roles, display_name=name, is_demo=True
                )
            else:  # credentials file lost: reset this demo account
                row = session.get(UserRow, existing.id)
                assert row is not None
                row.password_hash = passwords.hash_password(password)
                user = existing
            users.set_totp_secret(session, user.id, secret, sealer)
            audit.record(
                session,
                audit.SYSTEM,
                "demo.account_seeded",
                "user",
                user.id,
                {"username": username},
            )
            accounts.append(DemoAccount(username, password, secret, roles))
            saved[username] = {"password": password, "totp_secret": secret}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(json.dumps(saved, indent=2) + "\n")
    return accounts


def seed_reports(db: Database) -> int:
    """Benign sample reports, once: skipped when any report exists."""
    with db.read() as session:
        if queue.waiting_count(session) > 0:
            return 0
    with db.write() as session:
        for sample in SAMPLE_REPORTS:
            submitted = reports.submit(
                session, reports.validate(sample), reports.Source.web, sealer=None
            )
            audit.record(
                session,
                audit.SYSTEM,
                "report.received",
                "report",
                submitted.reference,
                {"source": "demo"},
            )
    return len(SAMPLE_REPORTS)


def seed(db: Database, settings: Settings) -> list[DemoAccount]:
    from hotline.advice.seed import seed_advice

    accounts = seed_accounts(db, settings)
    seed_advice(db)
    seed_reports(db)
    return accounts

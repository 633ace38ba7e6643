"""Demo data for `hotline serve --demo`: staff accounts, advice content and benign reports.

Demo passwords and two-factor secrets are generated on first run and kept in
DATA_DIR/demo-credentials.json (mode 0600), never in the code. Sample reports name only the
reserved example domains (RFC 2606), which can never host anything.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from hotline.assess import queue
from hotline.config import Settings
from hotline.db.base import utcnow
from hotline.db.engine import Database
from hotline.errors import NotFound
from hotline.intake import actions as intake_actions
from hotline.intake import reports
from hotline.intake.tables import ReportedUrlRow
from hotline.security import audit, passwords, totp, users
from hotline.security.crypto import sealer_for
from hotline.security.tables import UserRow
from hotline.stats import demo_history as stats_history

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
            intake_actions.receive_report(session, reports.validate(sample), reports.Source.web)
    return len(SAMPLE_REPORTS)


DEMO_HOSTS = [
    {
        "name": "Example Hosting Ltd",
        "asns": "64500",
        "countries": "GB",
        "abuse_email": "abuse@hosting.example",
        "channel": "email",
        "language": "en",
        "notes": "Demo entry (reserved AS number and domain).",
    },
    {
        "name": "Exemple Hébergement SAS",
        "asns": "64501",
        "countries": "FR",
        "abuse_email": "abus@hebergement.example",
        "channel": "email",
        "language": "fr",
        "notes": "Demo entry (reserved AS number and domain).",
    },
]

# Past takedown cases for the figures page: (days ago first reported, hours to the notice,
# hours from notice to removal or None while open, host index, country, category).
DEMO_CASE_HISTORY = [
    (150, 2, 20, 0, "GB", "A"),
    (140, 5, 60, 1, "FR", "B"),
    (120, 1, 9, 0, "GB", "C"),
    (95, 3, 30, 1, "FR", "C"),
    (80, 2, 14, 0, "GB", "B"),
    (60, 6, 100, 1, "FR", "A"),
    (45, 1, 6, 0, "GB", "C"),
    (30, 2, 22, 0, "GB", "B"),
    (20, 4, 52, 1, "FR", "C"),
    (10, 1, 11, 0, "GB", "A"),
    (3, 2, None, 1, "FR", "B"),
]


def seed_takedown(db: Database, settings: Settings) -> int:
    """A small host directory and past takedown cases (on reserved example domains), so the
    takedown pages and the time-to-removal figures have something to show; once."""
    from hotline.takedown import directory, provider_rules
    from hotline.takedown.tables import HostingProviderRow, TakedownCaseRow

    with db.read() as session:
        if session.query(HostingProviderRow.id).first() is not None:
            return 0
    now = utcnow()
    with db.write() as session:
        hosts = [
            directory.create_provider(session, provider_rules.parse(h), None, audit.SYSTEM)
            for h in DEMO_HOSTS
        ]
        for n, (days, to_notice, to_removal, host, country, category) in enumerate(
            DEMO_CASE_HISTORY, start=1
        ):
            first = now - timedelta(days=days)
            report = reports.validate({"url": f"https://files.example.net/demo/case-{n}"})
            intake_actions.receive_report(session, report, reports.Source.web)
            url = session.scalars(
                select(ReportedUrlRow).where(ReportedUrlRow.normalized_url == report.url)
            ).one()
            notice = first + timedelta(hours=to_notice)
            removed = notice + timedelta(hours=to_removal) if to_removal is not None else None
            url.first_reported_at = url.last_reported_at = first
            url.status, url.verdict = reports.UrlStatus.actioned.value, queue.Verdict.criminal.value
            url.verdict_reason, url.verdict_at = "indecent_images", first
            url.removed_at = removed
            session.add(
                TakedownCaseRow(
                    url_id=url.id,
                    reference=f"TD-DEMO{n:04d}",
                    state="removed" if removed else "notified",
                    route="notice",
                    provider_id=hosts[host].id,
                    host_name=hosts[host].name,
                    country=country,
                    category=category,
                    first_reported_at=first,
                    proposed_at=first,
                    confirmed_at=notice,
                    first_notice_at=notice,
                    last_notice_at=notice,
                    reminders_sent=0,
                    checks=1,
                    unreachable_streak=0,
                    removed_at=removed,
                    removal_reason="gone" if removed else None,
                    next_check_at=None if removed else now + timedelta(days=365),
                    flagged=False,
                )
            )
    return len(DEMO_CASE_HISTORY)


def seed(db: Database, settings: Settings) -> list[DemoAccount]:
    from hotline.advice.seed import seed_advice

    accounts = seed_accounts(db, settings)
    seed_advice(db)
    seed_reports(db)
    seed_takedown(db, settings)
    stats_history.seed_history(db, settings.stats_suppression_threshold)
    return accounts

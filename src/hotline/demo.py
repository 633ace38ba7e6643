"""Demo data for `hotline serve --demo`: staff accounts, advice content and benign reports.

Demo passwords and two-factor secrets are generated on first run and kept in
DATA_DIR/demo-credentials.json (mode 0600), never in the code. Sample reports name pages of
the demo's own benign site (hotline.demo_site), under a reserved name (RFC 2606) that only a
demo instance resolves; past takedown cases name reserved example domains.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from hotline.assess import queue
from hotline.config import DEMO_SITE_HOST, Settings
from hotline.db.base import utcnow
from hotline.db.engine import Database
from hotline.demo_site import KNOWN_IMAGE, DemoSite
from hotline.errors import NotFound
from hotline.hashing import hash_bytes
from hotline.intake import actions as intake_actions
from hotline.intake import reports
from hotline.intake.tables import ReportedUrlRow
from hotline.security import audit, passwords, totp, users
from hotline.security.crypto import sealer_for
from hotline.security.permissions import Actor
from hotline.security.tables import UserRow
from hotline.stats import demo_history as stats_history

DEMO_ACCOUNTS: dict[str, tuple[str, list[str]]] = {
    "admin": ("Demo Admin", ["admin"]),
    "analyst": ("Demo Analyst", ["analyst"]),
    "senior": ("Demo Senior Analyst", ["senior_analyst"]),
    # A second senior: one grades, the other resolves the disagreement (not their own).
    "senior2": ("Demo Second Senior Analyst", ["senior_analyst"]),
    "editor": ("Demo Content Editor", ["content_editor"]),
    "takedown": ("Demo Takedown Officer", ["takedown_officer"]),
}

# The demo's reports name pages of its own benign site (hotline.demo_site): what each page
# shows, what the reporter said it was, and their country.
SAMPLE_PAGES = [
    ("gallery", "image", "GB"),
    ("known", "image", "GB"),
    ("video", "video", "CA"),
    ("removable", "image", "GB"),
]
DEMO_KNOWN_LIST = "demo-known"
# The label the demo's hash list gives its one drawn shape, so capture shows a known match.
DEMO_KNOWN_CATEGORY = "C"
DEMO_KNOWN_AGE_BAND = "16-17"


def sample_reports(site_base: str) -> list[dict[str, str]]:
    """The demo's reports: one per page of its site at `site_base` (the utm_ tag shows the
    normalisation that finds duplicates; what is fetched is what was sent)."""
    return [
        {"url": f"{site_base}/{page}/?utm_source=demo", "content_type": kind, "country": country}
        for page, kind, country in SAMPLE_PAGES
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


def seed_reports(db: Database, site_base: str = f"http://{DEMO_SITE_HOST}:8001") -> int:
    """Reports of the demo site's pages, once: skipped when any report exists."""
    with db.read() as session:
        if queue.waiting_count(session) > 0:
            return 0
    samples = sample_reports(site_base)
    with db.write() as session:
        for sample in samples:
            intake_actions.receive_report(session, reports.validate(sample), reports.Source.web)
    return len(samples)


def seed_known(db: Database, known_image: bytes) -> int:
    """A hash list holding the demo site's one "known" shape, once, so capturing its page
    shows known-match auto-grading. Returns the entries added."""
    from hotline.lists import actions as list_actions
    from hotline.matching import store as match_store
    from hotline.matching.model import NewEntry

    with db.read() as session:
        if DEMO_KNOWN_LIST in {info.name for info in match_store.list_lists(session)}:
            return 0
    hashes = hash_bytes(known_image)
    assert hashes.pdq is not None
    entry = NewEntry(
        category=DEMO_KNOWN_CATEGORY,
        md5=hashes.digests.md5,
        sha1=hashes.digests.sha1,
        sha256=hashes.digests.sha256,
        pdq=hashes.pdq.hex,
        pdq_quality=hashes.pdq.quality,
        # What a complete grade needs besides the category, so capture inherits a whole one.
        shared={"metadata": {"age_band": DEMO_KNOWN_AGE_BAND}},
        source="demo",
    )
    operator = Actor.operator("demo")
    with db.write() as session:
        list_actions.create_list(
            session, operator, DEMO_KNOWN_LIST, description="Demo: a drawn shape, labelled"
        )
        list_actions.add_entries(session, operator, DEMO_KNOWN_LIST, [entry])
    return 1


def demo_settings(settings: Settings) -> Settings:
    """The demo's settings for its own site: notices to its mail catcher, and a host-ranges
    file that traces its site's loopback address to the demo host directory's first host
    (AS64500, a reserved number). Settings the operator gave are kept."""
    site = settings.demo_site
    assert site is not None, "demo settings outside demo mode"
    update: dict[str, object] = {}
    if not settings.smtp_host:
        update["smtp_host"] = "127.0.0.1"
        update["smtp_port"] = demo_mail_port(settings)
    if not settings.hosting_ranges_csv:
        first = DEMO_HOSTS[0]
        ranges = settings.data_dir / "demo-host-ranges.csv"
        ranges.write_text(
            "cidr,asn,organisation,country,abuse_email\n"
            f"127.0.0.1/32,{first['asns']},{first['name']},{first['countries']},"
            f"{first['abuse_email']}\n"
        )
        update["hosting_ranges_csv"] = str(ranges)
    return settings.model_copy(update=update)


def demo_mail_port(settings: Settings) -> int:
    return settings.demo_mail_port or settings.port + 2


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


def seed(db: Database, settings: Settings, site: DemoSite) -> list[DemoAccount]:
    from hotline.advice.seed import seed_advice

    accounts = seed_accounts(db, settings)
    seed_advice(db)
    seed_reports(db, site.base_url)
    seed_known(db, site.images[KNOWN_IMAGE])
    seed_takedown(db, settings)
    stats_history.seed_history(db, settings.stats_suppression_threshold)
    return accounts

"""Synthetic history for the demo's published figures (`hotline serve --demo`): two years of
benign, made-up actioned addresses on reserved example domains (RFC 2606), with origins, site
types, hosting, grades (hash-only media items: no image exists), takedown cases and hash-list
entries, enough in each cell that the suppression rule leaves every chart something to show.
Reports go through intake's action; the history behind them is written straight into the
rows, as the demo's past takedown cases are. Seeded once, then the figures are refreshed."""

from __future__ import annotations

import hashlib
import json
import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from hotline.db.base import utcnow
from hotline.db.engine import Database
from hotline.grading.tables import MediaItemRow
from hotline.intake import actions as intake_actions
from hotline.intake import reports
from hotline.intake.tables import ReportedUrlRow, ReportRow
from hotline.matching.tables import HashListEntryRow, HashListRow
from hotline.stats import actions
from hotline.takedown.tables import TakedownCaseRow

LIST_NAME = "demo-statistics"
URLS_PER_YEAR = 180
HOSTS = 100
# Reserved names only (RFC 2606): one domain per host under .example, and hosts under
# example.com, .net and .org.
_SUFFIXES = (".example", ".example", ".example", "example.com", "example.net", "example.org")
COUNTRIES = ("GB", "FR", "DE", "NL", "US")
SITE_TYPES = ("image_host", "cyberlocker", "forum", "website", "image_board", "social_network",
              "search_result", "other")  # fmt: skip
HOSTING = ("free", "paid", None)


def _host(k: int) -> tuple[str, str, str, str | None]:
    """Host number k: (host, country, site type, hosting)."""
    suffix = _SUFFIXES[k % len(_SUFFIXES)]
    host = f"site{k}{suffix}" if suffix.startswith(".") else f"site{k}.{suffix}"
    return host, COUNTRIES[(k // 6) % 5], SITE_TYPES[k % 8], HOSTING[k % 3]


ORIGINS = [("public", 45), ("proactive", 20), ("partner_hotline", 13), ("member", 11),
           ("child_self_report", 11)]  # fmt: skip
CATEGORIES = [("A", 25), ("B", 30), ("C", 45)]
AGES = [("0-2", 8), ("3-6", 12), ("7-10", 20), ("11-13", 25), ("14-15", 20), ("16-17", 15)]
SEXES = [("girls", 45), ("boys", 30), ("both", 13), ("unidentified", 12)]


def _pick(rng: random.Random, weighted: list[tuple[str, int]]) -> str:
    return rng.choices([v for v, _w in weighted], [w for _v, w in weighted])[0]


def seed_history(db: Database, threshold: int, now: datetime | None = None) -> int:
    """Seed once (nothing when the demo list exists); return the addresses written."""
    with db.read() as session:
        if session.scalar(select(HashListRow.id).where(HashListRow.name == LIST_NAME)):
            return 0
    now = now or utcnow()
    rng = random.Random(15)  # noqa: S311 - made-up figures, the same on every demo
    written = 0
    with db.write() as session:
        for year in (now.year - 1, now.year):
            start = datetime(year, 1, 1, tzinfo=UTC)
            span = min(now - timedelta(days=2), datetime(year + 1, 1, 1, tzinfo=UTC)) - start
            for n in range(URLS_PER_YEAR + 20):
                host, country, site, paid = _host(n % HOSTS)
                first = start + span * rng.random()
                origin = reports.Origin(_pick(rng, ORIGINS))
                report = reports.validate({"url": f"https://{host}/demo/{year}/{n}"})
                intake_actions.receive_report(session, report, reports.Source.web, origin=origin)
                url = session.scalars(
                    select(ReportedUrlRow).where(ReportedUrlRow.normalized_url == report.url)
                ).one()
                criminal = n < URLS_PER_YEAR
                url.first_reported_at = url.last_reported_at = first
                url.verdict_at = first + timedelta(hours=rng.randint(1, 30))
                url.status = "actioned" if criminal else "no_action"
                url.verdict = "criminal" if criminal else "not_criminal"
                url.verdict_reason = "indecent_images" if criminal else "adult_content"
                url.site_type, url.hosting = site, paid
                for row in session.scalars(select(ReportRow).where(ReportRow.url_id == url.id)):
                    row.created_at = first
                written += 1
                if not criminal:
                    continue
                for _image in range(rng.choice((1, 1, 1, 2))):
                    digest = hashlib.sha256(f"demo-stats-{year}-{n}-{_image}".encode()).hexdigest()
                    grade = {
                        "category": _pick(rng, CATEGORIES),
                        "age_band": _pick(rng, AGES),
                        "sex": _pick(rng, SEXES),
                        "self_generated": rng.random() < 0.3,
                    }
                    session.add(MediaItemRow(
                        url_id=url.id, source_url=report.url, kind="image", md5=digest[:32],
                        sha1=digest[:40], sha256=digest, byte_count=0, status="agreed",
                        stored=False, final_grade=json.dumps(grade), qa_sampled=False,
                        decided_at=url.verdict_at, created_at=first,
                    ))  # fmt: skip
                hours = rng.choice([3, 10, 20, 30, 50, 70, 100, 150, 200, None])
                removed = first + timedelta(hours=hours) if hours is not None else None
                removed = removed if removed is not None and removed < now else None
                url.removed_at = removed
                session.add(TakedownCaseRow(
                    url_id=url.id, reference=f"TD-STAT{year}{n:04d}",
                    state="removed" if removed else "notified", route="notice", host_name=host,
                    country=country, category="A", first_reported_at=first, proposed_at=first,
                    first_notice_at=first + timedelta(hours=1), reminders_sent=0, checks=1,
                    unreachable_streak=0, removed_at=removed, flagged=False,
                    removal_reason="gone" if removed else None,
                ))  # fmt: skip
                if removed is not None and n % 12 == 0:  # reported again after its removal
                    intake_actions.receive_report(session, report, reports.Source.web)
        about = "Demo: synthetic entries for the published figures."
        listed = HashListRow(
            name=LIST_NAME, description=about, version=1, created_at=now, updated_at=now
        )
        session.add(listed)
        session.flush()
        for n in range(90):
            digest = hashlib.sha256(f"demo-stats-list-{n}".encode()).hexdigest()
            added = now - timedelta(days=rng.randint(3, 700))
            session.add(HashListEntryRow(list_id=listed.id, sha256=digest, category="ABC"[n % 3],
                                         added_at=added, changed_in=1, added_in=1))  # fmt: skip
    actions.refresh_published(db, None, threshold)
    return written

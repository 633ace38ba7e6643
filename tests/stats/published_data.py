"""A small fixed data set for the published figures, written straight into the tables, and
the values computed by hand from it (docs/statistics.md gives the counting rules)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from hotline.db.engine import Database
from hotline.grading.tables import MediaItemRow
from hotline.intake.domains import site_domain
from hotline.intake.tables import ReportedUrlRow, ReportRow
from hotline.matching.tables import HashListEntryRow, HashListRow
from hotline.takedown.tables import TakedownCaseRow

_seq = iter(range(1, 1_000_000))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def grade(category: str, age: str | None, sex: str | None, self_generated: bool = False) -> str:
    return json.dumps({"category": category, "age_band": age, "sex": sex,
                       "self_generated": self_generated})  # fmt: skip


def add_url(
    session: Session,
    url: str,
    host: str,
    *,
    reports: list[tuple[str, str]],
    verdict: str | None = None,
    verdict_at: str | None = None,
    site_type: str | None = None,
    hosting: str | None = None,
    images: list[str] = (),  # type: ignore[assignment]
    case: tuple[str | None, str, str | None] | None = None,  # country, first report, removed
) -> int:
    domain, tld = site_domain(host)
    first = at(reports[0][0])
    row = ReportedUrlRow(
        url_hash=hashlib.sha256(url.encode()).hexdigest(), normalized_url=url, host=host,
        status={"criminal": "actioned", None: "received"}.get(verdict, "no_action"),
        report_count=len(reports), first_reported_at=first, last_reported_at=first,
        verdict=verdict, verdict_at=at(verdict_at) if verdict_at else None,
        site_type=site_type, hosting=hosting, domain=domain, tld=tld,
    )  # fmt: skip
    session.add(row)
    session.flush()
    for when, origin in reports:
        n = next(_seq)
        session.add(ReportRow(
            reference=f"R-{n:08d}", url_id=row.id, submitted_url=url, content_type="image",
            source="web", origin=origin, is_duplicate=False, created_at=at(when),
        ))  # fmt: skip
    for final in images:
        digest = hashlib.sha256(f"{url}{next(_seq)}".encode()).hexdigest()
        session.add(MediaItemRow(
            url_id=row.id, source_url=url, kind="image", md5=digest[:32], sha1=digest[:40],
            sha256=digest, byte_count=1, status="agreed", stored=False, final_grade=final,
            qa_sampled=False, created_at=first,
        ))  # fmt: skip
    if case is not None:
        country, reported, removed = case
        session.add(TakedownCaseRow(
            url_id=row.id, reference=f"TD-{next(_seq):06d}", state="removed" if removed else
            "notified", host_name=host, country=country, first_reported_at=at(reported),
            proposed_at=at(reported), reminders_sent=0, checks=0, unreachable_streak=0,
            removed_at=at(removed) if removed else None, flagged=False,
        ))  # fmt: skip
    session.flush()
    return row.id


def add_hashes(session: Session, entries: list[tuple[str, str, str | None]], source: str | None
               ) -> None:  # fmt: skip
    now = at("2025-01-01 00:00")
    lst = HashListRow(name=f"list-{next(_seq)}", source=source, created_at=now, updated_at=now)
    session.add(lst)
    session.flush()
    for category, added, withdrawn in entries:
        session.add(HashListEntryRow(
            list_id=lst.id, sha256=hashlib.sha256(f"{next(_seq)}".encode()).hexdigest(),
            category=category, added_at=at(added), changed_in=1,
            withdrawn_at=at(withdrawn) if withdrawn else None,
        ))  # fmt: skip
    session.flush()


def seed(db: Database) -> None:
    with db.write() as session:
        add_url(session, "https://www.example.com/u1", "www.example.com",
                reports=[("2026-02-01 10:00", "public"), ("2026-02-02 10:00", "public")],
                verdict="criminal", verdict_at="2026-02-03 10:00", site_type="image_host",
                hosting="free", images=[grade("A", "7-10", "girls"), grade("C", "3-6", "boys")],
                case=("FR", "2026-02-01 10:00", "2026-02-01 22:00"))  # fmt: skip
        add_url(session, "https://cdn.example.org/u2", "cdn.example.org",
                reports=[("2026-03-01 00:00", "partner_hotline")],
                verdict="criminal", verdict_at="2026-03-02 00:00", site_type="forum",
                hosting="paid", images=[grade("B", "14-15", "girls", True)],
                case=("FR", "2026-03-01 00:00", "2026-03-05 04:00"))  # fmt: skip
        add_url(session, "https://a.site3.example/u3", "a.site3.example",
                reports=[("2026-04-01 00:00", "proactive")],
                verdict="criminal", verdict_at="2026-04-02 00:00",
                case=("GB", "2026-04-01 00:00", None))  # fmt: skip
        add_url(session, "https://example.net/u4", "example.net",
                reports=[("2026-05-01 00:00", "public")],
                verdict="not_criminal", verdict_at="2026-05-02 00:00")  # fmt: skip
        add_url(session, "https://example.com/u5", "example.com",
                reports=[("2025-06-01 00:00", "public"), ("2026-01-10 00:00", "child_self_report")],
                verdict="criminal", verdict_at="2025-06-01 12:00", site_type="website",
                images=[grade("C", "16-17", "unidentified"), grade("not_illegal", None, None)],
                case=("FR", "2025-06-01 00:00", "2025-06-01 02:00"))  # fmt: skip
        add_hashes(session, [("A", "2025-06-01 00:00", None), ("B", "2026-02-01 00:00", None),
                             ("C", "2025-03-01 00:00", "2026-05-01 00:00")], None)  # fmt: skip
        add_hashes(session, [("A", "2025-06-01 00:00", None)], "imported from a partner")


# By hand from seed(): (year, figure) -> {key: value}; keys not listed are absent or zero.
EXPECTED: dict[tuple[int, str], dict[str, Any]] = {
    (2026, "funnel"): {"reports_received": 6, "urls_assessed": 4, "urls_actioned": 3},
    (2025, "funnel"): {"reports_received": 1, "urls_assessed": 1, "urls_actioned": 1},
    (2026, "reports_by_origin"): {
        "public": 3,
        "proactive": 1,
        "partner_hotline": 1,
        "member": 0,
        "child_self_report": 1,
        "total": 6,
    },
    (2026, "actioned_by_category"): {"A": 1, "B": 1, "C": 0, "not_graded": 1, "total": 3},
    (2025, "actioned_by_category"): {"A": 0, "B": 0, "C": 1, "not_graded": 0, "total": 1},
    (2026, "actioned_by_age"): {
        "0-2": 0,
        "3-6": 1,
        "7-10": 0,
        "14-15": 1,
        "not_graded": 1,
        "total": 3,
    },
    (2026, "actioned_by_sex"): {"both": 1, "girls": 1, "boys": 0, "not_graded": 1, "total": 3},
    (2025, "actioned_by_sex"): {"unidentified": 1, "total": 1},
    (2026, "actioned_self_generated"): {
        "self_generated": 1,
        "not_self_generated": 1,
        "not_graded": 1,
        "total": 3,
    },
    (2026, "hosting_country_urls"): {"FR": 2, "GB": 1, "total": 3},
    (2026, "hosting_country_domains"): {"FR": 2, "GB": 1, "total": 3},
    (2026, "actioned_by_site_type"): {"image_host": 1, "forum": 1, "not_recorded": 1, "total": 3},
    (2026, "actioned_by_hosting"): {"free": 1, "paid": 1, "unknown": 1, "total": 3},
    (2026, "actioned_by_tld"): {"com": 1, "org": 1, "example": 1, "total": 3},
    (2026, "takedown"): {
        "cases": 3,
        "removed": 2,
        "median_hours": 56.0,
        "p90_hours": 100.0,
        "fastest_hours": 12.0,
        "within_1d_share": 1 / 3,
        "within_3d_share": 1 / 3,
        "within_7d_share": 2 / 3,
        "reappearances": 1,  # u1: reported again after its removal
    },
    (2025, "takedown"): {"cases": 1, "removed": 1, "median_hours": 2.0, "reappearances": 1},
    (2025, "hash_list_by_category"): {"A": 1, "B": 0, "C": 1, "total": 2},
    (2026, "hash_list_by_category"): {"A": 1, "B": 1, "C": 0, "total": 2},
}

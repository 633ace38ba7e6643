"""The queue's "all states" list, the media items list and the host directory at 1,000,000
reports, on SQLite and PostgreSQL, through the real app (issue 14.1; a sibling of
bench_staff_search.py, whose seed, server, sign-in and timing it reuses).

    .venv/bin/python bench/bench_staff_lists.py --reports 1000000 [--postgres URL]
    # the local PostgreSQL: --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test

On top of bench_staff_search's reported addresses and reports: priorities (2% at 5, 0.01% at
9), report counts 1 to 7, 0.1% marked duplicate, 100 live claims held by a colleague; one media
item per address (hashes only, nothing stored: 60% awaiting grades, 20% known matches of
category B, 15% agreed on category A, 4% resolved not illegal, 1% disagreements; 5% videos),
found a minute after the report; 2,000 hosting providers. Times GET /staff/queue and
/staff/grading (with list parameters), /staff/hosts, the CSV exports and the staff search box,
as an analyst who is also a takedown officer. Prints p50/p95 per case. Target: p95 <= 300 ms.
"""

from __future__ import annotations

import hashlib
import sys
from datetime import timedelta

from sqlalchemy import insert, text

from bench_staff_search import BATCH, START, _copy, _host, _reference, main, seed
from hotline.assess import queue_list
from hotline.db.base import utcnow
from hotline.db.engine import Database
from hotline.grading import media_list
from hotline.grading.tables import MediaItemRow, source_place
from hotline.security import users
from hotline.web.listing import ListQuery, cursor_token

HOSTS = 2_000
HOLDER = "bench-holder"


def _hex(kind: str, i: int) -> str:
    return hashlib.sha256(f"{kind}:{i}".encode()).hexdigest()


def _state(i: int) -> tuple[str, str | None, str | None]:
    """(status, final_grade, inherited_category) of item i."""
    r = i % 100
    if r < 60:
        return "awaiting_grades", None, None
    if r < 80:
        return "known_match", None, "B"
    if r < 95:
        return "agreed", '{"age_band": "13-17", "category": "A"}', None
    if r < 99:
        return "resolved", '{"category": "not_illegal"}', None
    return "disagreement", None, None


def seed_queue(db: Database, n: int) -> None:
    """Priorities, report counts, duplicates and a colleague's live claims."""
    with db.write() as session:
        holder = users.create_user(session, HOLDER, "bench password 123", ["analyst"])
        session.execute(
            text(
                "UPDATE reported_urls SET report_count = 1 + id % 7, "
                "priority = CASE WHEN id % 50 = 0 THEN 5 WHEN id % 10000 = 7 THEN 9 ELSE 0 END"
            )
        )
        session.execute(text("UPDATE reported_urls SET status = 'duplicate' WHERE id % 1000 = 11"))
        session.execute(
            text(
                "UPDATE reported_urls SET status = 'in_assessment', claimed_by = :u, "
                "claim_expires_at = :t WHERE id % 10000 = 5"
            ),
            {"u": holder.id, "t": utcnow() + timedelta(days=1)},
        )


def seed_media(db: Database, n: int) -> None:
    """One media item per reported address, hashes only."""
    with db.write() as session:
        for lo in range(1, n + 1, BATCH):
            rows = []
            for i in range(lo, min(n + 1, lo + BATCH)):
                status, final, inherited = _state(i)
                video = i % 20 == 9
                url = f"https://{_host(i)[0]}/img/{i}.{'mp4' if video else 'jpg'}"
                host, domain = source_place(url)  # COPY skips the table's defaults
                rows.append(
                    {
                        "id": i,
                        "url_id": i,
                        "source_url": url,
                        "source_host": host,
                        "source_domain": domain,
                        "kind": "video" if video else "image",
                        "md5": _hex("md5", i)[:32],
                        "sha1": _hex("sha1", i)[:40],
                        "sha256": _hex("sha256", i),
                        "pdq": None if video else _hex("pdq", i),
                        "pdq_quality": None if video else 90,
                        "byte_count": 50_000,
                        "status": status,
                        "stored": False,
                        "final_grade": final,
                        "qa_sampled": False,
                        "decided_at": None if status == "awaiting_grades" else START,
                        "created_at": START + timedelta(minutes=i, seconds=30),
                        "inherited_category": inherited,
                    }
                )
            if db.is_sqlite:
                session.execute(insert(MediaItemRow), rows)
            else:
                _copy(session, "media_items", rows)
        session.execute(
            text(
                "INSERT INTO hosting_providers (id, name, asns, countries, abuse_email, "
                "webhook_url, channel, language, created_at, updated_at) VALUES "
                "(:id, :name, :asns, :countries, :email, :hook, :channel, 'en', :at, :at)"
            ),
            [
                {
                    "id": h,
                    "name": f"Provider {h:04d}",
                    "asns": str(64500 + h),
                    "countries": ("GB,FR" if h % 3 else "DE"),
                    "email": None if h % 10 == 0 else f"abuse@p{h}.example.net",
                    "hook": f"https://p{h}.example.net/notices" if h % 10 == 0 else None,
                    "channel": "webhook" if h % 10 == 0 else "email",
                    "at": START + timedelta(hours=h),
                }
                for h in range(1, HOSTS + 1)
            ],
        )
    if db.is_sqlite:
        with db.write() as session:
            session.execute(text("ANALYZE"))
    else:
        with db.writer.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))


def cases(n: int) -> dict[str, tuple[str, dict[str, str]]]:
    middle = n // 2
    queue_query = ListQuery(sort="first_reported", desc=True, size=50)
    queue_half = cursor_token(
        queue_list.SPEC, queue_query, START + timedelta(minutes=middle), middle
    )
    media_query = ListQuery(sort="found", desc=True, size=50)
    media_half = cursor_token(
        media_list.SPEC, media_query, START + timedelta(minutes=middle, seconds=30), middle
    )
    q, g, h, s = "/staff/queue", "/staff/grading", "/staff/hosts", "/staff/search"
    sha = _hex("sha256", n // 3)
    return {
        "queue: all states": (q, {"q": ""}),
        "queue: status actioned 10%": (q, {"status": "actioned"}),
        "queue: status duplicate 0.1%": (q, {"status": "duplicate"}),
        "queue: open 90%": (q, {"status": "open"}),
        "queue: priority 5 (2%)": (q, {"priority": "5"}),
        "queue: priority 9 (0.01%)": (q, {"priority": "9"}),
        "queue: by priority": (q, {"sort": "priority"}),
        "queue: by reports": (q, {"sort": "reports"}),
        "queue: held by colleague": (q, {"assignee": HOLDER}),
        "queue: unassigned": (q, {"assignee": "unassigned"}),
        "queue: country FR": (q, {"country": "FR"}),
        "queue: domain 1%": (q, {"q": "example.org"}),
        "queue: host (50)": (q, {"q": "s1234.example.com"}),
        "queue: reference": (q, {"q": _reference(n // 4)}),
        "queue: one day": (q, {"from": "2025-03-01", "to": "2025-03-01"}),
        "queue: page half way": (q, {"sort": "first_reported", "after": queue_half}),
        "queue: CSV of a host": (q + "/export.csv", {"q": "s1234.example.com"}),
        "media: first page": (g, {"q": ""}),
        "media: SHA-256 prefix": (g, {"q": sha[:12]}),
        "media: MD5 prefix": (g, {"q": _hex("md5", n // 5)[:10]}),
        "media: PDQ prefix": (g, {"q": _hex("pdq", n // 6)[:16]}),
        "media: 4-digit prefix": (g, {"q": sha[:4]}),
        "media: disagreement 1%": (g, {"state": "disagreement"}),
        "media: category A 15%": (g, {"category": "A"}),
        "media: video 5%": (g, {"kind": "video"}),
        "media: domain 1%": (g, {"domain": "example.org"}),
        "media: domain 99%": (g, {"domain": "example.com"}),
        "media: host (50)": (g, {"domain": "s1234.example.com"}),
        "media: one day": (g, {"from": "2025-03-01", "to": "2025-03-01"}),
        "media: by id, oldest": (g, {"sort": "id", "dir": "asc"}),
        "media: page half way": (g, {"sort": "found", "after": media_half}),
        "media: CSV of a prefix": (g + "/export.csv", {"q": sha[:6]}),
        "search: a domain, 1%": (s, {"q": "example.org"}),
        "search: a domain, 99%": (s, {"q": "example.com"}),
        "search: a host": (s, {"q": "s1234.example.com"}),
        "search: a reference": (s, {"q": _reference(n // 4)}),
        "search: a hash prefix": (s, {"q": sha[:8]}),
        "search: a provider name": (s, {"q": "Provider 0042"}),
        "hosts: first page": (h, {}),
        "hosts: search example.net": (h, {"q": "p1234.example.net"}),
        "hosts: country DE": (h, {"country": "DE"}),
        "hosts: webhook, by update": (h, {"channel": "webhook", "sort": "updated"}),
    }


if __name__ == "__main__":
    sys.exit(
        main(
            __doc__,
            seeders=(seed, seed_queue, seed_media),
            make_cases=cases,
            roles=("analyst", "takedown_officer"),
        )
    )

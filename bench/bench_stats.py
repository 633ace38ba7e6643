"""The published statistics at scale, on SQLite and PostgreSQL: a full refresh of the cache,
then the public page and every open-data CSV from the cache, over HTTP.

    .venv/bin/python bench/bench_stats.py [--reports 1000000 --actioned 300000] [--postgres URL]
    # the local PostgreSQL: --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test

Seeds straight into a migrated database (on PostgreSQL then ANALYZE, as autovacuum would):
`--reports` reports over two years naming 2/3 as many URLs, `--actioned` of them actioned, each
with one graded image and a takedown case (4 in 5 removed), and 50,000 hash-list entries.
Times `stats.actions.refresh_published` (the periodic job's work), then serves the app with
uvicorn on 127.0.0.1 and times GET /statistics/{year} and /api/v1/statistics/{figure}.csv for
every figure. Prints p50/p95. Targets: refresh <= 60 s; page and every CSV p95 <= 200 ms.
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import uvicorn
from sqlalchemy import insert, text

from hotline.config import load_settings
from hotline.db import migrate
from hotline.db.engine import Database
from hotline.grading.tables import MediaItemRow
from hotline.intake.tables import ReportedUrlRow, ReportRow
from hotline.matching.tables import HashListEntryRow, HashListRow
from hotline.security.audit_keys import chain_key_from, use_key
from hotline.security.crypto import sha256_hex
from hotline.stats import actions, figures
from hotline.takedown.tables import TakedownCaseRow
from hotline.web.app import create_app

ORIGINS = ("public", "public", "public", "proactive", "partner_hotline", "member",
           "child_self_report")  # fmt: skip
SITES = ("image_host", "cyberlocker", "forum", "website", "image_board", "social_network",
         "search_result", "other")  # fmt: skip
COUNTRIES = ("GB", "FR", "DE", "NL", "US", "CA", "SE", "PL", "RO", "JP")
AGES = ("0-2", "3-6", "7-10", "11-13", "14-15", "16-17")
SEXES = ("girls", "boys", "both", "unidentified")
BATCH = 20_000


def seed(db: Database, n_reports: int, n_actioned: int) -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    n_urls = n_reports * 2 // 3
    span = 2 * 365 * 86400 - 7 * 86400
    with db.write() as session:
        for lo in range(0, n_urls, BATCH):
            urls, grades, cases = [], [], []
            for i in range(lo, min(n_urls, lo + BATCH)):
                host = f"site{i % 20000}.example"
                url = f"https://{host}/page/{i}"
                first = start + timedelta(seconds=(i * 7919) % span)
                actioned = i < n_actioned
                assessed = actioned or i < n_actioned + n_urls // 7
                urls.append({
                    "id": i + 1, "url_hash": sha256_hex(url), "normalized_url": url,
                    "host": host, "domain": host, "tld": "example",
                    "status": "actioned" if actioned else ("no_action" if assessed else
                                                           "received"),
                    "report_count": 1, "first_reported_at": first, "last_reported_at": first,
                    "priority": 0, "verdict": "criminal" if actioned else ("not_criminal"
                                                                          if assessed else None),
                    "verdict_at": first + timedelta(hours=5) if assessed else None,
                    "site_type": SITES[i % 8] if actioned else None,
                    "hosting": ("free", "paid", None)[i % 3] if actioned else None,
                })  # fmt: skip
                if actioned:
                    grade = {"category": "ABC"[i % 3], "age_band": AGES[i % 6],
                             "sex": SEXES[i % 4], "self_generated": i % 5 == 0}  # fmt: skip
                    grades.append({
                        "id": i + 1, "url_id": i + 1, "source_url": url, "kind": "image",
                        "md5": f"{i:032x}", "sha1": f"{i:040x}", "sha256": f"{i:064x}",
                        "byte_count": 0, "status": "agreed", "stored": False,
                        "final_grade": json.dumps(grade), "qa_sampled": False,
                        "created_at": first,
                    })  # fmt: skip
                    removed = first + timedelta(hours=1 + i % 300) if i % 5 else None
                    cases.append({
                        "id": i + 1, "url_id": i + 1, "reference": f"TD-B{i:09d}",
                        "state": "removed" if removed else "notified", "host_name": host,
                        "country": COUNTRIES[i % 10], "first_reported_at": first,
                        "proposed_at": first, "reminders_sent": 0, "checks": 0,
                        "unreachable_streak": 0, "removed_at": removed, "flagged": False,
                    })  # fmt: skip
            session.execute(insert(ReportedUrlRow), urls)
            if grades:
                session.execute(insert(MediaItemRow), grades)
                session.execute(insert(TakedownCaseRow), cases)
        for lo in range(0, n_reports, BATCH):
            rows = []
            for r in range(lo, min(n_reports, lo + BATCH)):
                url_id = r % n_urls + 1
                created = start + timedelta(seconds=((url_id - 1) * 7919) % span + r // n_urls)
                rows.append({
                    "reference": f"{r:012d}", "url_id": url_id, "submitted_url": "-",
                    "content_type": "image", "source": "web", "origin": ORIGINS[r % 7],
                    "is_duplicate": r >= n_urls, "created_at": created,
                })  # fmt: skip
            session.execute(insert(ReportRow), rows)
        lst = HashListRow(name="bench", description="", version=1, created_at=start,
                          updated_at=start)  # fmt: skip
        session.add(lst)
        session.flush()
        session.execute(
            insert(HashListEntryRow),
            [{"list_id": lst.id, "sha256": f"{i:064x}", "category": "ABC"[i % 3],
              "added_at": start + timedelta(hours=i % 15000), "changed_in": 1}
             for i in range(50_000)],
        )  # fmt: skip
        if not db.is_sqlite:
            session.execute(text("ANALYZE"))


def timed(client: httpx.Client, path: str, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        response = client.get(path)
        samples.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return samples


def run(label: str, url: str, n_reports: int, n_actioned: int, repeat: int) -> None:
    settings = load_settings(
        mode="development", data_dir=Path(tempfile.mkdtemp()), database_url=url,
        secret_key=secrets.token_urlsafe(40), log_level="warning",
    )  # fmt: skip
    db = Database(url)
    use_key(db, chain_key_from(settings.secret))
    migrate.upgrade(db)
    t0 = time.perf_counter()
    seed(db, n_reports, n_actioned)
    seed_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    done = actions.refresh_published(db, None, settings.stats_suppression_threshold)
    refresh_s = time.perf_counter() - t0
    app = create_app(settings, db)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    year = done.years[-1]
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        timed(client, f"/statistics/{year}", 3)  # warm up
        results = {"page": timed(client, f"/statistics/{year}", repeat)}
        for figure in figures.FIGURES:
            results[f"{figure.name}.csv"] = timed(
                client, f"/api/v1/statistics/{figure.name}.csv", repeat
            )
    server.should_exit = True
    thread.join(timeout=10)
    print(f"\n{label}: {n_reports:,} reports, {n_actioned:,} actioned URLs "
          f"(seeded in {seed_s:.1f} s); {repeat} requests each")  # fmt: skip
    print(f"  full refresh: {refresh_s:.1f} s ({done.rows} cells, years {done.years})")
    worst = 0.0
    for name, samples in results.items():
        p50 = statistics.median(samples)
        p95 = statistics.quantiles(samples, n=20)[18]
        worst = max(worst, p95)
        print(f"  {name:<28} p50 {p50:6.1f} ms   p95 {p95:6.1f} ms")
    print(f"  worst p95 {worst:.1f} ms (target 200); refresh {refresh_s:.1f} s (target 60)")
    db.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--actioned", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--postgres", default="", help="also run on PostgreSQL at this URL")
    args = parser.parse_args()
    if args.actioned > args.reports * 2 // 3:
        parser.error("--actioned must be at most 2/3 of --reports")
    sqlite_dir = Path(tempfile.mkdtemp())
    run("SQLite", f"sqlite:///{sqlite_dir / 'bench.db'}", args.reports, args.actioned,
        args.repeat)  # fmt: skip
    if args.postgres:
        schema = f"bench_{secrets.token_hex(4)}"
        admin = Database(args.postgres)
        with admin.writer.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        sep = "&" if "?" in args.postgres else "?"
        try:
            run("PostgreSQL", f"{args.postgres}{sep}options=-csearch_path%3D{schema}",
                args.reports, args.actioned, args.repeat)  # fmt: skip
        finally:
            with admin.writer.begin() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The analyst's pages with many items waiting, on SQLite and PostgreSQL.

    .venv/bin/python bench/bench_analyst_pages.py --items 100000 [--postgres URL]
    # the local PostgreSQL: --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test

SQLite always; PostgreSQL too with --postgres (a scratch schema, dropped afterwards). Seeds N
reported URLs (one report each, 1% at a higher priority) and N media items awaiting grades
straight into a migrated database (on PostgreSQL then ANALYZE, as autovacuum would), serves
the app with uvicorn on 127.0.0.1, signs an analyst in (password + TOTP) and times GET
requests over HTTP: the first queue page, page 1,000 (the "Next" link after item 49,950) and
the page before it ("Previous"), case pages, the grading list and grading item pages.
Prints p50/p95. Target: p95 <= 300 ms.
"""

from __future__ import annotations

import argparse
import re
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
from sqlalchemy import insert, select, text

from hotline.assess.queue import QueueKey
from hotline.config import load_settings
from hotline.db import migrate
from hotline.db.engine import Database
from hotline.grading.tables import MediaItemRow
from hotline.intake.tables import ReportedUrlRow, ReportRow
from hotline.security import totp, users
from hotline.security.crypto import sealer_for, sha256_hex
from hotline.web.app import create_app

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def seed(db: Database, n: int) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    batch = 10_000
    with db.write() as session:
        for lo in range(0, n, batch):
            urls = []
            for i in range(lo, min(n, lo + batch)):
                url = f"https://site{i % 5000}.example.com/page/{i}"
                at = start + timedelta(seconds=i)
                urls.append(
                    {
                        "id": i + 1,
                        "url_hash": sha256_hex(url),
                        "normalized_url": url,
                        "host": f"site{i % 5000}.example.com",
                        "status": "received",
                        "report_count": 1,
                        "first_reported_at": at,
                        "last_reported_at": at,
                        "priority": 1 if i % 97 == 0 else 0,
                    }
                )
            session.execute(insert(ReportedUrlRow), urls)
            session.execute(
                insert(ReportRow),
                [
                    {
                        "reference": f"{u['id']:012d}"[:4]
                        + "-"
                        + f"{u['id']:012d}"[4:8]
                        + "-"
                        + f"{u['id']:012d}"[8:],
                        "url_id": u["id"],
                        "submitted_url": u["normalized_url"],
                        "description": None,
                        "email_encrypted": None,
                        "content_type": "image",
                        "country": "GB",
                        "source": "api",
                        "is_duplicate": False,
                        "created_at": u["first_reported_at"],
                    }
                    for u in urls
                ],
            )
        for lo in range(0, n, batch):
            session.execute(
                insert(MediaItemRow),
                [
                    {
                        "id": i + 1,
                        "url_id": i + 1,
                        "source_url": f"https://img.example.com/{i}.jpg",
                        "kind": "image",
                        "md5": f"{i:032x}",
                        "sha1": f"{i:040x}",
                        "sha256": f"{i:064x}",
                        "pdq": f"{(i * 2654435761) % 2**256:064x}",
                        "pdq_quality": 90,
                        "byte_count": 1000,
                        "status": "awaiting_grades",
                        "stored": False,
                        "purge_after": None,
                        "inherited_from": None,
                        "final_grade": None,
                        "qa_sampled": False,
                        "decided_at": None,
                        "created_at": start + timedelta(seconds=i),
                    }
                    for i in range(lo, min(n, lo + batch))
                ],
            )
        if not db.is_sqlite:
            session.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence('media_items','id'), "
                    "(SELECT max(id) FROM media_items))"
                )
            )
            session.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence('reported_urls','id'), "
                    "(SELECT max(id) FROM reported_urls))"
                )
            )
            # Fresh statistics, as autovacuum would gather after a bulk load.
            session.execute(text("ANALYZE"))


def deep_key(db: Database, position: int) -> str:
    """The queue key of the item at `position` (1-based) in queue order, as the "Next" link
    of the page ending there carries it. Found once with OFFSET, outside the timings."""
    with db.read() as session:
        row = session.execute(
            select(ReportedUrlRow)
            .order_by(
                ReportedUrlRow.priority.desc(), ReportedUrlRow.first_reported_at, ReportedUrlRow.id
            )
            .offset(position - 1)
            .limit(1)
        ).scalar_one()
        return QueueKey(row.priority, row.first_reported_at, row.id).token()


def timed(client: httpx.Client, path: str, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        response = client.get(path)
        samples.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return samples


def run(label: str, url: str, n: int, repeat: int) -> None:
    data_dir = Path(tempfile.mkdtemp())
    settings = load_settings(
        mode="development",
        data_dir=data_dir,
        database_url=url,
        secret_key=secrets.token_urlsafe(40),
        log_level="warning",
    )
    db = Database(url)
    migrate.upgrade(db)
    t0 = time.perf_counter()
    seed(db, n)
    seed_s = time.perf_counter() - t0
    deep = deep_key(db, min(n, 999 * 50))  # page 1,000 starts after item 49,950
    secret = totp.new_secret()
    with db.write() as session:
        # Generous cap: the benchmark measures pages, not the wellbeing limit.
        user = users.create_user(session, "bench-analyst", "bench password 123", ["analyst"])
        users.set_totp_secret(session, user.id, secret, sealer_for(settings.secret, "totp-secret"))
    app = create_app(settings, db)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=base) as client:
        token = CSRF.search(client.get("/staff/login").text).group(1)  # type: ignore[union-attr]
        client.post(
            "/staff/login",
            data={
                "username": "bench-analyst",
                "password": "bench password 123",
                "csrf_token": token,
            },
        )
        token = CSRF.search(client.get("/staff/2fa").text).group(1)  # type: ignore[union-attr]
        client.post("/staff/2fa", data={"code": totp.current_code(secret), "csrf_token": token})
        timed(client, "/staff/queue", 3)  # warm up
        results = {
            "queue page 1": timed(client, "/staff/queue", repeat),
            "queue page 1000": timed(client, f"/staff/queue?after={deep}", repeat),
            "queue page 999": timed(client, f"/staff/queue?before={deep}", repeat),
            "case page": [
                s
                for i in range(repeat)
                for s in timed(client, f"/staff/queue/{1 + (i * 7919) % n}", 1)
            ],
            "grading list": timed(client, "/staff/grading", repeat),
            "grading item": [
                s
                for i in range(repeat)
                for s in timed(client, f"/staff/grading/{1 + (i * 7919) % n}", 1)
            ],
        }
    server.should_exit = True
    thread.join(timeout=10)
    print(f"\n{label}: {n:,} items waiting (seeded in {seed_s:.1f} s), {repeat} requests each")
    for name, samples in results.items():
        p50 = statistics.median(samples)
        p95 = statistics.quantiles(samples, n=20)[18]
        print(f"  {name:<16} p50 {p50:6.1f} ms   p95 {p95:6.1f} ms")
    db.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=60)
    parser.add_argument(
        "--postgres",
        default="",
        help="also run on PostgreSQL at this URL, e.g. "
        "postgresql+psycopg://postgres@127.0.0.1:5432/test (a scratch schema is used)",
    )
    args = parser.parse_args()
    sqlite_dir = Path(tempfile.mkdtemp())
    run("SQLite", f"sqlite:///{sqlite_dir / 'bench.db'}", args.items, args.repeat)
    if args.postgres:
        schema = f"bench_{secrets.token_hex(4)}"
        admin = Database(args.postgres)
        with admin.writer.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        sep = "&" if "?" in args.postgres else "?"
        try:
            run(
                "PostgreSQL",
                f"{args.postgres}{sep}options=-csearch_path%3D{schema}",
                args.items,
                args.repeat,
            )
        finally:
            with admin.writer.begin() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())

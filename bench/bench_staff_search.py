"""The staff reports list's search, filters, sorts and pages at 1,000,000 reports, on SQLite
and PostgreSQL, through the real app.

    .venv/bin/python bench/bench_staff_search.py --reports 1000000 [--postgres URL]
    # the local PostgreSQL: --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test

SQLite always; PostgreSQL too with --postgres (a scratch schema, dropped afterwards). Seeds N
reported URLs with one report each straight into a migrated database (benign generated
example.com/.org/.net addresses; on PostgreSQL then ANALYZE, as autovacuum would), serves the
app with uvicorn on 127.0.0.1, signs an analyst in (password + TOTP) and times GET requests to
/staff/reports over HTTP: the first page, a URL, a host, a rare and a common domain, a
reference, filters (country, status, a day, source + country), a sort by reference, page 2 and
a page half way through (by its "Next" key), and a CSV export of a host's reports.
Prints p50/p95 per case. Target: p95 <= 300 ms.

Data shape: hosts s0..s19999.example.com (99%, so "example.com" matches nearly everything),
media.example.org (1%), one report a minute; 10% of addresses actioned; countries GB 60%,
FR 5%, DE 5%, none 30%; source web 70%, api 30%.
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
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy import insert, text
from sqlalchemy.orm import Session

from hotline.assess.reports_list import SPEC
from hotline.config import load_settings
from hotline.db import migrate
from hotline.db.engine import Database
from hotline.intake.tables import ReportedUrlRow, ReportRow
from hotline.security import totp, users
from hotline.security.crypto import sealer_for, sha256_hex
from hotline.web.listing import ListQuery, cursor_token

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
START = datetime(2025, 1, 1, tzinfo=UTC)
BATCH = 20_000


def _host(i: int) -> tuple[str, str]:
    if i % 100 == 7:
        return "media.example.org", "example.org"
    return f"s{i % 20000}.example.com", "example.com"


def _url(i: int) -> str:
    return f"https://{_host(i)[0]}/page/{i}"


def _reference(i: int) -> str:
    digits = f"{i:012d}"
    return f"{digits[:4]}-{digits[4:8]}-{digits[8:]}"


def _country(i: int) -> str | None:
    r = i % 20
    return "GB" if r < 12 else "FR" if r == 12 else "DE" if r == 13 else None


def _copy(session: Session, table: str, rows: list[dict[str, object]]) -> None:
    """PostgreSQL's COPY, for a bulk load in seconds rather than minutes."""
    columns = list(rows[0])
    raw = session.connection().connection.driver_connection
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with raw.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
        for row in rows:
            copy.write_row([row[c] for c in columns])


def seed(db: Database, n: int) -> None:
    with db.write() as session:
        for lo in range(1, n + 1, BATCH):
            ids = range(lo, min(n + 1, lo + BATCH))
            urls: list[dict[str, Any]] = []
            for i in ids:
                url, (host, domain) = _url(i), _host(i)
                at = START + timedelta(minutes=i)
                urls.append(
                    {
                        "id": i,
                        "url_hash": sha256_hex(url),
                        "normalized_url": url,
                        "host": host,
                        "domain": domain,
                        "tld": domain.rsplit(".", 1)[1],
                        "status": "actioned" if i % 10 == 3 else "received",
                        "report_count": 1,
                        "first_reported_at": at,
                        "last_reported_at": at,
                        "priority": 0,
                    }
                )
            reports = [
                {
                    "id": u["id"],
                    "reference": _reference(u["id"]),
                    "url_id": u["id"],
                    "submitted_url": u["normalized_url"],
                    "description": None,
                    "email_encrypted": None,
                    "content_type": "image",
                    "country": _country(u["id"]),
                    "source": "web" if u["id"] % 10 < 7 else "api",
                    "origin": "public",
                    "is_duplicate": False,
                    "created_at": u["first_reported_at"],
                }
                for u in urls
            ]
            if db.is_sqlite:
                session.execute(insert(ReportedUrlRow), urls)
                session.execute(insert(ReportRow), reports)
            else:
                _copy(session, "reported_urls", urls)
                _copy(session, "reports", reports)
        if not db.is_sqlite:
            for table in ("reported_urls", "reports"):
                session.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}','id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
    if db.is_sqlite:
        with db.write() as session:
            session.execute(text("ANALYZE"))
    else:
        with db.writer.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))


def timed(client: httpx.Client, path: str, params: dict[str, str], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        response = client.get(path, params=params)
        samples.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, (path, params, response.status_code)
    return samples


def cases(n: int) -> dict[str, tuple[str, dict[str, str]]]:
    middle = n // 2
    query = ListQuery(sort="received", desc=True, size=50)
    half_way = cursor_token(SPEC, query, START + timedelta(minutes=middle), middle)
    page_two = cursor_token(SPEC, query, START + timedelta(minutes=n - 49), n - 49)
    r = "/staff/reports"
    return {
        "first page": (r, {}),
        "URL": (r, {"q": _url(n // 3).replace("https://", "HTTPS://")}),
        "host (50 reports)": (r, {"q": "s1234.example.com"}),
        "domain, 1%": (r, {"q": "example.org"}),
        "domain, 99%": (r, {"q": "example.com"}),
        "reference": (r, {"q": _reference(n // 4).replace("-", "")}),
        "country FR (5%)": (r, {"country": "FR"}),
        "status actioned": (r, {"status": "actioned"}),
        "one day": (r, {"from": "2025-03-01", "to": "2025-03-01"}),
        "web + FR, oldest": (r, {"source": "web", "country": "FR", "dir": "asc"}),
        "sort by reference": (r, {"sort": "reference", "dir": "asc"}),
        "page 2": (r, {"after": page_two}),
        "page half way": (r, {"after": half_way}),
        "CSV of a host": (r + "/export.csv", {"q": "s1234.example.com"}),
    }


Seeder = Callable[[Database, int], None]
Cases = Callable[[int], dict[str, tuple[str, dict[str, str]]]]


def sign_in(client: httpx.Client, username: str, password: str, secret: str) -> None:
    """Password, then TOTP, as a person signs in."""
    token = CSRF.search(client.get("/staff/login").text).group(1)  # type: ignore[union-attr]
    client.post(
        "/staff/login",
        data={"username": username, "password": password, "csrf_token": token},
    )
    token = CSRF.search(client.get("/staff/2fa").text).group(1)  # type: ignore[union-attr]
    client.post("/staff/2fa", data={"code": totp.current_code(secret), "csrf_token": token})


def run(
    label: str,
    url: str,
    n: int,
    repeat: int,
    *,
    seeders: Sequence[Seeder] = (seed,),
    make_cases: Cases = cases,
    roles: Sequence[str] = ("analyst",),
) -> None:
    """Migrate, seed (each seeder in turn), serve the app, sign a user with `roles` in and
    time each case's GET; print p50/p95 per case."""
    from hotline.web.app import create_app

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
    for seeder in seeders:  # none when reusing a seeded database (--reuse-sqlite)
        seeder(db, n)
    seed_s = time.perf_counter() - t0
    secret = totp.new_secret()
    with db.write() as session:
        username = f"bench-analyst-{secrets.token_hex(3)}"
        user = users.create_user(session, username, "bench password 123", list(roles))
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
    results: dict[str, list[float]] = {}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
        sign_in(client, username, "bench password 123", secret)
        for name, (path, params) in make_cases(n).items():
            timed(client, path, params, 2)  # warm up
            results[name] = timed(client, path, params, repeat)
    server.should_exit = True
    thread.join(timeout=10)
    print(f"\n{label}: {n:,} reports (seeded in {seed_s:.1f} s), {repeat} requests each")
    for name, samples in results.items():
        p50 = statistics.median(samples)
        p95 = statistics.quantiles(samples, n=20)[18]
        print(f"  {name:<28} p50 {p50:6.1f} ms   p95 {p95:6.1f} ms", flush=True)
    db.dispose()


def main(
    description: str | None = None,
    *,
    seeders: Sequence[Seeder] = (seed,),
    make_cases: Cases = cases,
    roles: Sequence[str] = ("analyst",),
) -> int:
    """The command line: SQLite, and PostgreSQL in a scratch schema with --postgres."""
    parser = argparse.ArgumentParser(
        description=description or __doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument(
        "--reuse-sqlite",
        default="",
        metavar="PATH",
        help="time against a SQLite file an earlier run seeded with the same --reports "
        "(it stays in the temporary folder printed at the start) instead of seeding again",
    )
    parser.add_argument(
        "--postgres",
        default="",
        help="also run on PostgreSQL at this URL, e.g. "
        "postgresql+psycopg://postgres@127.0.0.1:5432/test (a scratch schema is used)",
    )
    args = parser.parse_args()
    if not args.no_sqlite:
        reuse = Path(args.reuse_sqlite) if args.reuse_sqlite else None
        path = reuse or Path(tempfile.mkdtemp()) / "bench.db"
        print(f"SQLite database: {path}", flush=True)
        run(
            "SQLite",
            f"sqlite:///{path}",
            args.reports,
            args.repeat,
            seeders=() if args.reuse_sqlite else seeders,
            make_cases=make_cases,
            roles=roles,
        )
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
                args.reports,
                args.repeat,
                seeders=seeders,
                make_cases=make_cases,
                roles=roles,
            )
        finally:
            with admin.writer.begin() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())

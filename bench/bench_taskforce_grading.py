"""The taskforce grading page with a million-item case set, on SQLite and PostgreSQL.

    .venv/bin/python bench/bench_taskforce_grading.py --items 1000000 [--postgres URL]
    # the local PostgreSQL: --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test

Seeds one case set of N items straight into a migrated database: clusters of 1 to 5 items
(about N / 3 clusters), the first `--done` share of them already final (the next-cluster
query must find open ones past them), then ANALYZE on PostgreSQL as autovacuum would. Serves
the app with uvicorn on 127.0.0.1, signs a taskforce grader in (password + TOTP) and works
`--repeat` clusters over HTTP as the page does without JavaScript: take the next cluster
(POST, which releases the last), draw its page (GET), grade the representative (POST), confirm
each member (POST each), each followed by the page it redirects to. Prints p50/p95 of each
request. Target: p95 <= 300 ms.
"""

from __future__ import annotations

import argparse
import re
import secrets
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import uvicorn
from sqlalchemy import insert, text

from hotline.config import load_settings
from hotline.db import migrate
from hotline.db.engine import Database
from hotline.security import totp, users
from hotline.security.crypto import sealer_for
from hotline.taskforce.tables import CaseItemRow, CaseSetRow, ClusterRow

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
VERSION = re.compile(r'name="version" value="(\d+)"')
CONFIRM = re.compile(r'action="(/staff/taskforce/grade/\d+/members/\d+/confirm)"')


def seed(db: Database, n: int, done: float) -> int:
    """N items in clusters of 1-5; returns the number of clusters."""
    at = datetime(2026, 1, 1, tzinfo=UTC)
    with db.write() as session:
        session.execute(
            insert(CaseSetRow),
            [
                {
                    "id": 1,
                    "name": "bench",
                    "hash_only": False,
                    "created_by": "bench",
                    "created_at": at,
                    "updated_at": at,
                    "files": n,
                    "items": n,
                    "duplicates": 0,
                    "failed": 0,
                    "known": 0,
                }
            ],
        )
        sizes: list[tuple[int, int]] = []  # (representative id, size)
        i = 1
        while i <= n:
            size = min(1 + len(sizes) % 5, n - i + 1)
            sizes.append((i, size))
            i += size
        final_before = int(len(sizes) * done)
        items: list[dict[str, object]] = []
        clusters: list[dict[str, object]] = []
        for k, (rep, size) in enumerate(sizes):
            final = k < final_before
            clusters.append(
                {
                    "id": rep,
                    "case_set_id": 1,
                    "representative_id": rep,
                    "pdq": f"{rep:064x}",
                    "size": size,
                    "viewable": True,
                    "state": "final" if final else "open",
                    "version": 1,
                    "created_at": at,
                    "updated_at": at,
                }
            )
            for item_id in range(rep, rep + size):
                items.append(
                    {
                        "id": item_id,
                        "case_set_id": 1,
                        "key": f"{item_id:064x}",
                        "source_id": 1,
                        "member": f"set/{item_id}.jpg",
                        "kind": "image",
                        "md5": f"{item_id:032x}",
                        "sha1": f"{item_id:040x}",
                        "sha256": f"{item_id:064x}",
                        "pdq": f"{item_id:064x}",
                        "pdq_quality": 90,
                        "byte_count": 1000,
                        "copies": 1,
                        "stored": False,
                        "status": "hashed",
                        "created_at": at,
                        "cluster_id": rep,
                        "cluster_distance": 0 if item_id == rep else 10,
                        "grade_state": ("propagated" if final else None),
                    }
                )
            if len(items) >= 20_000:
                session.execute(insert(CaseItemRow), items)
                items = []
            if len(clusters) >= 20_000:
                session.execute(insert(ClusterRow), clusters)
                clusters = []
        if items:
            session.execute(insert(CaseItemRow), items)
        if clusters:
            session.execute(insert(ClusterRow), clusters)
        if not db.is_sqlite:
            session.execute(text("ANALYZE"))
    return len(sizes)


def run(label: str, url: str, n: int, repeat: int, done: float) -> None:
    data_dir = Path(tempfile.mkdtemp())
    settings = load_settings(
        mode="development",
        data_dir=data_dir,
        database_url=url,
        secret_key=secrets.token_urlsafe(40),
        log_level="warning",
        daily_view_cap_minutes=24 * 60,  # the benchmark measures pages, not the cap
    )
    db = Database(url)
    migrate.upgrade(db)
    t0 = time.perf_counter()
    clusters = seed(db, n, done)
    seed_s = time.perf_counter() - t0
    secret = totp.new_secret()
    with db.write() as session:
        user = users.create_user(
            session, "bench-grader", "bench password 123", ["taskforce_grader"]
        )
        users.set_totp_secret(session, user.id, secret, sealer_for(settings.secret, "totp-secret"))
    app = create_app_for(settings, db)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    samples: dict[str, list[float]] = {"next": [], "page": [], "grade": [], "confirm": []}

    def timed(name: str, path: str, data: dict[str, str] | None = None) -> httpx.Response:
        t = time.perf_counter()
        response = client.post(path, data=data) if data is not None else client.get(path)
        samples[name].append((time.perf_counter() - t) * 1000)
        return response

    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        token = CSRF.search(client.get("/staff/login").text).group(1)  # type: ignore[union-attr]
        client.post(
            "/staff/login",
            data={
                "username": "bench-grader",
                "password": "bench password 123",
                "csrf_token": token,
            },
        )
        token = CSRF.search(client.get("/staff/2fa").text).group(1)  # type: ignore[union-attr]
        client.post("/staff/2fa", data={"code": totp.current_code(secret), "csrf_token": token})
        token = CSRF.search(client.get("/staff/taskforce/grade").text).group(1)  # type: ignore[union-attr]
        current = ""
        for _ in range(repeat):
            r = timed(
                "next", "/staff/taskforce/grade/next", {"csrf_token": token, "cluster": current}
            )
            assert r.status_code == 303, r.text
            where = r.headers["location"]
            current = where.rsplit("/", 1)[1]
            page = timed("page", where)
            assert page.status_code == 200
            version = VERSION.search(page.text).group(1)  # type: ignore[union-attr]
            grade = {"csrf_token": token, "version": version, "category": "C", "age_band": "16-17"}
            r = timed("grade", f"{where}/grade", grade)
            assert r.status_code == 303, r.text
            page = timed("page", where)
            for action in CONFIRM.findall(page.text):
                version = VERSION.search(page.text).group(1)  # type: ignore[union-attr]
                r = timed("confirm", action, {"csrf_token": token, "version": version})
                assert r.status_code == 303, r.text
                page = timed("page", where)
    server.should_exit = True
    thread.join(timeout=10)
    print(
        f"\n{label}: {n:,} items in {clusters:,} clusters, {done:.0%} final "
        f"(seeded in {seed_s:.1f} s); {repeat} clusters worked"
    )
    for name, values in samples.items():
        p50 = statistics.median(values)
        p95 = statistics.quantiles(values, n=20)[18]
        print(f"  {name:<8} {len(values):4} requests   p50 {p50:6.1f} ms   p95 {p95:6.1f} ms")
    db.dispose()


def create_app_for(settings, db):  # type: ignore[no-untyped-def]
    from hotline.web.app import create_app

    return create_app(settings, db)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=60)
    parser.add_argument("--done", type=float, default=0.5, help="share of clusters final")
    parser.add_argument("--postgres", default="", help="also run on PostgreSQL at this URL")
    args = parser.parse_args()
    sqlite_dir = Path(tempfile.mkdtemp())
    run("SQLite", f"sqlite:///{sqlite_dir / 'bench.db'}", args.items, args.repeat, args.done)
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
                args.done,
            )
        finally:
            with admin.writer.begin() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

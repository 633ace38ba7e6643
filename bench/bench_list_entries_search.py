"""A hash search in one list of N entries, as the staff entries page runs it
(/staff/lists/{name}/entries; hotline.lists.store.entry_search): the hash columns have no
index of their own (four would slow every import), so a search reads the list's rows.

    .venv/bin/python bench/bench_list_entries_search.py sqlite:////tmp/entries.db 1000000
    .venv/bin/python bench/bench_list_entries_search.py \
        "postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3Dscratch" 1000000

Use an empty database (a new SQLite file, or a scratch PostgreSQL schema you drop after).
Prints the seeding time, then for three searches (a miss, a SHA-256 start, a number that is
also a hash start) the rows found and the fastest and slowest of five runs.
"""

import hashlib
import sys
import time
from datetime import UTC, datetime

from sqlalchemy import insert, select

from hotline.db import migrate
from hotline.db.engine import Database
from hotline.lists import store as lists_store
from hotline.lists.entries_list import SPEC
from hotline.matching.tables import HashListEntryRow, HashListRow
from hotline.web.listing import keyset, parse_listing

url, n = sys.argv[1], int(sys.argv[2])
db = Database(url)
migrate.upgrade(db)
now = datetime.now(UTC)
with db.write() as s:
    s.add(HashListRow(id=1, name="big", created_at=now, updated_at=now))
t = time.perf_counter()
B = 20000
for lo in range(0, n, B):
    rows = []
    for i in range(lo, min(n, lo + B)):
        h = hashlib.sha256(str(i).encode()).hexdigest()
        rows.append(
            dict(
                list_id=1,
                md5=h[:32],
                sha1=h[:40],
                sha256=h,
                pdq=h[::-1],
                category="A",
                added_at=now,
                changed_in=1,
                added_in=1,
            )
        )
    with db.write() as s:
        s.execute(insert(HashListEntryRow), rows)
print(f"seeded {n} in {time.perf_counter() - t:.1f}s", flush=True)
for q in ["ffff0000", hashlib.sha256(b"777").hexdigest()[:12], "12345"]:
    query = parse_listing({"q": q}, SPEC)
    where = lists_store.entry_search(1, query.q, "")
    times = []
    for _ in range(5):
        t = time.perf_counter()
        with db.read() as s:
            r = lists_store.entry_views(
                s, keyset(select(*lists_store.ENTRY_VIEW_COLUMNS).where(*where), SPEC, query)
            )
        times.append(time.perf_counter() - t)
    fastest, slowest = min(times) * 1000, max(times) * 1000
    print(f"{q}: {len(r)} found, fastest {fastest:.0f} ms, slowest {slowest:.0f} ms", flush=True)

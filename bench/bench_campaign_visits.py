"""Campaign page-view counting (hotline.advice.campaigns.VisitCounter): views per second when
every view writes (a batch of 1) against the default batch (written every 100 views or 60 s).

    .venv/bin/python bench/bench_campaign_visits.py --views 5000

SQLite in a temporary directory (the default single-process deployment). Seeds the demo
campaigns, then counts N views of one campaign through the counter, as the page does, and
prints views per second and the database writes made for each batch size. The totals written
are checked against N.
"""

from __future__ import annotations

import argparse
import secrets
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

from hotline.advice import campaigns
from hotline.advice.seed import seed_advice
from hotline.advice.tables import CampaignVisitRow
from hotline.db import migrate
from hotline.db.engine import Database
from hotline.security.audit_keys import chain_key_from, use_key


def run(db: Database, campaign_id: int, views: int, batch: int) -> tuple[float, int]:
    counter = campaigns.VisitCounter(flush_seconds=60, flush_views=batch)
    writes = 0
    flush = counter.flush

    def counting_flush(target: Database) -> int:
        nonlocal writes
        written = flush(target)
        writes += 1 if written else 0
        return written

    counter.flush = counting_flush
    start = time.perf_counter()
    for _ in range(views):
        counter.hit(db, campaign_id)
    counter.flush(db)
    return time.perf_counter() - start, writes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--views", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'bench.db'}")
        migrate.upgrade(db)
        use_key(db, chain_key_from(secrets.token_bytes(32)))
        seed_advice(db)
        with db.read() as session:
            campaign_id = campaigns.load_campaign(session, "safer-at-home").id
        for batch in (1, 100):
            seconds, writes = run(db, campaign_id, args.views, batch)
            print(
                f"batch {batch:>3}: {args.views} views in {seconds:.2f} s "
                f"= {args.views / seconds:,.0f} views/s, {writes} database writes"
            )
        with db.read() as session:
            total = session.execute(select(func.sum(CampaignVisitRow.views))).scalar_one()
        assert total == 2 * args.views, total
        print(f"written total {total} (= 2 x {args.views}): correct")


if __name__ == "__main__":
    main()

"""The frontier on the jobs table: a page row per canonical URL of a crawl (unique, so a page
is queued once however many pages link to it) and one `crawl` job per queued page. Workers
share a crawl by claiming its jobs; a killed worker's job comes back when its lease runs out,
and the page is redone whole (its effects commit with the job's completion)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from hotline.db.base import utcnow
from hotline.jobs import queue
from hotline.proactive.politeness import Politeness
from hotline.proactive.scope import Canonical, ScopeRules
from hotline.proactive.tables import CrawlMediaRow, CrawlPageRow, CrawlRow

CRAWL_JOB = "crawl"  # `hotline worker --kind crawl`


class PageState:
    queued = "queued"
    done = "done"
    error = "error"
    skipped = "skipped"


class CrawlState:
    running = "running"
    stopped = "stopped"
    finished = "finished"


@dataclass(frozen=True)
class CrawlSpec:
    id: int
    seed_host: str
    state: str
    scope: ScopeRules
    politeness: Politeness
    robots_override: str | None
    keep_bytes: bool


def spec_of(row: CrawlRow) -> CrawlSpec:
    return CrawlSpec(
        row.id,
        row.seed_host,
        row.state,
        ScopeRules.from_json(json.loads(row.scope)),
        Politeness.from_json(json.loads(row.politeness)),
        row.robots_override,
        row.keep_bytes,
    )


def _insert(session: Session, table: Any) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def page_count(session: Session, crawl_id: int) -> int:
    return int(
        session.execute(
            select(func.count()).select_from(CrawlPageRow).where(CrawlPageRow.crawl_id == crawl_id)
        ).scalar_one()
    )


INSERT_CHUNK = 500  # rows a multi-row INSERT carries (SQLite's bound-variable limit)


def add_pages(session: Session, crawl: CrawlSpec, links: Sequence[tuple[Canonical, int]]) -> int:
    """Queue the links not yet in the frontier (each with a job), within the page budget;
    returns how many were new. One query finds the links already known and one multi-row
    INSERT ... ON CONFLICT DO NOTHING adds the rest (a page links to the same pages as its
    neighbours: most links are known), instead of a statement a link."""
    if not links:
        return 0
    first: dict[str, tuple[Canonical, int]] = {}
    for link, depth in links:
        first.setdefault(link.key, (link, depth))
    known: set[str] = set()
    keys = list(first)
    for i in range(0, len(keys), INSERT_CHUNK):
        chunk = keys[i : i + INSERT_CHUNK]
        known.update(
            session.execute(
                select(CrawlPageRow.url_hash).where(
                    CrawlPageRow.crawl_id == crawl.id, CrawlPageRow.url_hash.in_(chunk)
                )
            ).scalars()
        )
    fresh = [value for key, value in first.items() if key not in known]
    if not fresh:
        return 0
    room = crawl.scope.max_pages - page_count(session, crawl.id)
    fresh = fresh[: max(room, 0)]
    added = 0
    for i in range(0, len(fresh), INSERT_CHUNK):
        rows = [
            {
                "crawl_id": crawl.id,
                "url_hash": link.key,
                "url": link.url,
                "depth": depth,
                "state": PageState.queued,
                "tries": 0,
                "media": 0,
                "known": 0,
                "unknown": 0,
            }
            for link, depth in fresh[i : i + INSERT_CHUNK]
        ]
        # Another worker may have added some since the query above: those come back empty.
        ids = (
            session.execute(
                _insert(session, CrawlPageRow)
                .values(rows)
                .on_conflict_do_nothing(index_elements=["crawl_id", "url_hash"])
                .returning(CrawlPageRow.id)
            )
            .scalars()
            .all()
        )
        for page_id in sorted(ids):
            enqueue_page(session, crawl.id, page_id)
        added += len(ids)
    return added


def enqueue_page(session: Session, crawl_id: int, page_id: int, delay_s: float = 0.0) -> None:
    queue.enqueue(
        session,
        CRAWL_JOB,
        {"crawl_id": crawl_id, "page_id": page_id},
        run_at=utcnow() + timedelta(seconds=delay_s),
        dedupe_key=f"crawl:{page_id}",
        max_attempts=5,
    )


def claim_media(session: Session, crawl_id: int, page_id: int, keys: Sequence[str]) -> set[str]:
    """Of these media URL keys, the ones this page fetches: new to the crawl, or already
    claimed by this same page (a re-run after a killed worker)."""
    if not keys:
        return set()
    session.execute(
        _insert(session, CrawlMediaRow)
        .values([{"crawl_id": crawl_id, "url_hash": key, "page_id": page_id} for key in keys])
        .on_conflict_do_nothing(index_elements=["crawl_id", "url_hash"])
    )
    mine = session.execute(
        select(CrawlMediaRow.url_hash).where(
            CrawlMediaRow.crawl_id == crawl_id,
            CrawlMediaRow.page_id == page_id,
            CrawlMediaRow.url_hash.in_(list(keys)),
        )
    ).scalars()
    return set(mine)


def bump(session: Session, crawl_id: int, **counts: int) -> None:
    """Add to a crawl's counters, in the page's transaction."""
    values = {name: getattr(CrawlRow, name) + n for name, n in counts.items() if n}
    session.execute(
        update(CrawlRow)
        .where(CrawlRow.id == crawl_id)
        .values(updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )


def finish_if_drained(session: Session, crawl_id: int) -> None:
    """A running crawl with no queued page left is finished."""
    left = session.execute(
        select(CrawlPageRow.id)
        .where(CrawlPageRow.crawl_id == crawl_id, CrawlPageRow.state == PageState.queued)
        .limit(1)
    ).scalar_one_or_none()
    if left is None:
        session.execute(
            update(CrawlRow)
            .where(CrawlRow.id == crawl_id, CrawlRow.state == CrawlState.running)
            .values(state=CrawlState.finished, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )

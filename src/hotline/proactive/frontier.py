"""The frontier on the jobs table: a page row per canonical URL of a crawl (unique, so a page
is queued once however many pages link to it) and `crawl` jobs for the queued pages, each for
a batch of up to PAGE_BATCH of them (one claim, one write transaction and one completion for
the batch; one page a job under politeness, whose limits set the pace anyway). Workers share
a crawl by claiming its jobs; a killed worker's job comes back when its lease runs out, and
its pages are redone whole (their effects commit with the job's completion)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
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


@dataclass(frozen=True)
class _Statements:
    add_page: Any  # a page row unless the crawl has its URL; returns its id
    claim_media: Any  # a media URL's claim unless the crawl has one


def _built(insert: Any) -> _Statements:
    return _Statements(
        insert(CrawlPageRow)
        .on_conflict_do_nothing(index_elements=["crawl_id", "url_hash"])
        .returning(CrawlPageRow.id),
        insert(CrawlMediaRow).on_conflict_do_nothing(index_elements=["crawl_id", "url_hash"]),
    )


# Built once per dialect: building a statement costs more than running it.
_STATEMENTS = {"postgresql": _built(postgresql.insert), "sqlite": _built(sqlite.insert)}


def _statements(session: Session) -> _Statements:
    return _STATEMENTS[session.get_bind().dialect.name]


PAGE_BATCH = 16  # pages a job, politeness off


def batch_size(crawl: CrawlSpec) -> int:
    """Pages a job: one under politeness (a batch would hold a host's slots for longer and
    spend the job's lease on waits), else PAGE_BATCH."""
    return 1 if crawl.politeness.enabled else PAGE_BATCH


def page_count(session: Session, crawl_id: int) -> int:
    return int(
        session.execute(
            select(func.count()).select_from(CrawlPageRow).where(CrawlPageRow.crawl_id == crawl_id)
        ).scalar_one()
    )


def lock_crawl(session: Session, crawl_id: int) -> None:
    """Lock the crawl's row until the transaction ends (PostgreSQL; a no-op under SQLite's
    one writer). Lock order: a transaction that writes a crawl's pages or stops it takes this
    lock before any other (reported URLs, the audit head), so that two such transactions wait
    on each other rather than deadlock."""
    session.execute(
        select(CrawlRow.id).where(CrawlRow.id == crawl_id).with_for_update()
    ).scalar_one_or_none()


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
    # The crawl's row, locked until this transaction ends, makes adding pages one at a time
    # per crawl: two workers counting the pages before either commits would both see room
    # and exceed the budget (PostgreSQL; SQLite's one writer already does this).
    lock_crawl(session, crawl.id)
    room = crawl.scope.max_pages - page_count(session, crawl.id)
    fresh = fresh[: max(room, 0)]
    if not fresh:
        return 0
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
        for link, depth in fresh
    ]
    # Another worker may have added some since the query above: those come back empty. An
    # executemany of one built statement (SQLAlchemy batches it into multi-row INSERTs)
    # instead of `.values(rows)`, which coerced every value of every row in Python.
    added = sorted(session.execute(_statements(session).add_page, rows).scalars())
    size = batch_size(crawl)
    for i in range(0, len(added), size):
        enqueue_pages(session, crawl.id, added[i : i + size])
    return len(added)


def enqueue_pages(
    session: Session, crawl_id: int, page_ids: Sequence[int], delay_s: float = 0.0
) -> None:
    """One job for these queued pages (each page is in one live job at a time)."""
    queue.enqueue(
        session,
        CRAWL_JOB,
        {"crawl_id": crawl_id, "page_ids": list(page_ids)},
        run_at=utcnow() + timedelta(seconds=delay_s),
        dedupe_key=f"crawl:{page_ids[0]}",
        max_attempts=5,
    )


def enqueue_page(session: Session, crawl_id: int, page_id: int, delay_s: float = 0.0) -> None:
    enqueue_pages(session, crawl_id, [page_id], delay_s)


def job_pages(payload: Mapping[str, Any]) -> list[int]:
    """The pages of a `crawl` job (`page_id`: a job queued before batches)."""
    if "page_ids" in payload:
        return [int(page_id) for page_id in payload["page_ids"]]
    return [int(payload["page_id"])]


def claim_media(
    session: Session, crawl_id: int, wanted: Mapping[int, Sequence[str]]
) -> dict[int, set[str]]:
    """Of the media URL keys each page (by id) wants, the ones it fetches: new to the crawl,
    or already claimed by this same page (a re-run after a killed worker). A key two of
    these pages want goes to the first. One INSERT and one query for a whole batch, its rows
    in key order (two workers' inserts then wait on each other in one order, never in a
    cycle)."""
    first: dict[str, int] = {}
    for page_id, keys in wanted.items():
        for key in keys:
            first.setdefault(key, page_id)
    mine: dict[int, set[str]] = {page_id: set() for page_id in wanted}
    if not first:
        return mine
    keys = sorted(first)
    claim = _statements(session).claim_media
    for i in range(0, len(keys), INSERT_CHUNK):
        chunk = keys[i : i + INSERT_CHUNK]
        session.execute(
            claim, [{"crawl_id": crawl_id, "url_hash": k, "page_id": first[k]} for k in chunk]
        )
        claimed = session.execute(
            select(CrawlMediaRow.url_hash, CrawlMediaRow.page_id).where(
                CrawlMediaRow.crawl_id == crawl_id,
                CrawlMediaRow.page_id.in_(list(wanted)),
                CrawlMediaRow.url_hash.in_(chunk),
            )
        ).all()
        for key, page_id in claimed:
            mine[page_id].add(key)
    return mine


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

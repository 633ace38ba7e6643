"""The `crawl` job: a batch of a crawl's pages (hotline.proactive.crawler). Run several
`hotline worker --kind crawl` processes, on one machine or many, to share a crawl."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select, update

from hotline import known as known_material
from hotline.assess.fetcher import FetchPolicy, SafeFetcher, fetch_policy_from
from hotline.config import Settings
from hotline.grading.media_store import MediaStore
from hotline.grading.service import Inherited
from hotline.jobs import queue
from hotline.jobs.worker import JobContext, job_handler
from hotline.proactive import crawler, frontier
from hotline.proactive.classifier import Classifier, ClassifierError, classifier_from
from hotline.proactive.frontier import CrawlState, PageState
from hotline.proactive.tables import CrawlPageRow, CrawlRow

log = logging.getLogger(__name__)


_FETCHERS: dict[tuple[FetchPolicy, int], SafeFetcher] = {}
_CLASSIFIERS: dict[tuple[str, str, str, FetchPolicy, int], Classifier | None] = {}
_LOCK = threading.Lock()


def _fetcher(policy: FetchPolicy) -> SafeFetcher:
    """One fetcher (one connection pool) per process and policy: pages reuse connections.
    The backend takes no part in the policy's equality, so it is part of the key."""
    key = (policy, id(policy.network_backend))
    with _LOCK:
        found = _FETCHERS.get(key)
        if found is None:
            found = _FETCHERS[key] = SafeFetcher(policy)
        return found


def _classifier(settings: Settings, policy: FetchPolicy) -> Classifier | None:
    key = (
        settings.crawl_classifier,
        settings.crawl_classifier_url,
        settings.crawl_classifier_key.get_secret_value(),
        policy,
        id(policy.network_backend),
    )
    with _LOCK:
        if key not in _CLASSIFIERS:
            try:
                _CLASSIFIERS[key] = classifier_from(settings, policy)
            except ClassifierError:
                log.error("crawl classifier %r unavailable; pages keep their priority", key[0])
                _CLASSIFIERS[key] = None
        return _CLASSIFIERS[key]


def forget_classifiers() -> None:
    """Close and drop the cached classifiers (settings changed; tests)."""
    with _LOCK:
        for made in _CLASSIFIERS.values():
            close = getattr(made, "close", None)
            if close is not None:
                close()
        _CLASSIFIERS.clear()


def _store(settings: Settings) -> MediaStore | None:
    return None if settings.hash_only else MediaStore(settings.data_dir / "media", settings.secret)


@job_handler(frontier.CRAWL_JOB, max_attempts=5)
def crawl_page(ctx: JobContext) -> None:
    """A batch of a crawl's queued pages (frontier.batch_size): the network for each, one
    known-material lookup for all their media, then one write transaction with every page's
    results, their links and the job's completion. A page whose host is busy or backing off
    goes back to the frontier alone, later."""
    crawl_id, page_ids = int(ctx.payload["crawl_id"]), frontier.job_pages(ctx.payload)
    with ctx.db.read() as session:
        crawl_row = session.get(CrawlRow, crawl_id)
        if crawl_row is None:
            return  # gone: nothing to do
        crawl = frontier.spec_of(crawl_row)
        rows = session.execute(select(CrawlPageRow).where(CrawlPageRow.id.in_(page_ids)))
        found = {row.id: row for row in rows.scalars()}
    # Done by an earlier run, or gone: the worker completes the job.
    pages = [found[i] for i in page_ids if i in found and found[i].state == PageState.queued]
    if crawl.state != CrawlState.running or not pages:
        return
    base = ctx.resource(FetchPolicy, fetch_policy_from)
    policy = crawler.crawl_policy(base, ctx.settings.crawl_contact)
    fetching = crawler.Fetching(ctx.db, _fetcher(policy), crawl)
    runs = crawler.run_pages(fetching, pages, _heartbeat(ctx))
    finished = [(p, r) for p, r in zip(pages, runs, strict=True) if r.retry_in is None]
    hashed = [[m for m in r.media if m.hashes is not None] for _p, r in finished]
    everything = [m for items in hashed for m in items]
    matches: list[known_material.KnownMatch | None] = []
    inherited: list[Inherited | None] = []
    if everything:
        with ctx.db.read() as session:
            matches = known_material.lookup(session, [crawler.known_hashes(m) for m in everything])
            # What each match passes on, read here rather than under the write lock.
            inherited = [known_material.inherited(session, m) if m else None for m in matches]
    classifier = _classifier(ctx.settings, base)
    results: list[crawler.PageResult] = []
    at = 0
    for (page, run), items in zip(finished, hashed, strict=True):
        page_matches, page_inherited = (
            matches[at : at + len(items)],
            inherited[at : at + len(items)],
        )
        at += len(items)
        new = [m for m, match in zip(items, page_matches, strict=True) if match is None]
        scores_by_new = crawler.score_new(classifier, new)
        # Scores are keyed by the position among the page's hashed media, as recorded.
        positions = [i for i, match in enumerate(page_matches) if match is None]
        scores = {positions[i]: s for i, s in scores_by_new.items()}
        results.append(crawler.PageResult(page, run, page_matches, scores, page_inherited))
    # Everything but the statements is done before the write transaction takes the lock.
    prepared = crawler.prepare_pages(crawl, results, ctx.settings.crawl_likely_new_score)
    with ctx.db.write() as session:
        for page, run in zip(pages, runs, strict=True):
            if run.retry_in is None:
                continue
            if run.status is not None:  # a 429/5xx answer; a busy host costs no try
                session.execute(
                    update(CrawlPageRow)
                    .where(CrawlPageRow.id == page.id)
                    .values(tries=CrawlPageRow.tries + 1)
                    .execution_options(synchronize_session=False)
                )
        if results:
            crawler.write_pages(
                session,
                crawl,
                prepared,
                store=_store(ctx.settings),
                retention=timedelta(days=ctx.settings.media_retention_days),
                confirm=ctx.settings.proactive_confirm,
            )
        ctx.complete(session)
        for page, run in zip(pages, runs, strict=True):
            if run.retry_in is not None:
                frontier.enqueue_page(session, crawl_id, page.id, run.retry_in)


def _heartbeat(ctx: JobContext) -> Callable[[], None]:
    """Keeps the job's lease while a batch runs: extended once a third of it has passed."""
    lease = timedelta(seconds=ctx.settings.job_lease_seconds)
    last = [time.monotonic()]

    def beat() -> None:
        if time.monotonic() - last[0] > lease.total_seconds() / 3:
            queue.extend(ctx.db, ctx.job, lease)
            last[0] = time.monotonic()

    return beat

"""The `crawl` job: one page of a crawl (hotline.proactive.crawler). Run several
`hotline worker --kind crawl` processes, on one machine or many, to share a crawl."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from hotline import known as known_material
from hotline.assess.fetcher import FetchPolicy, SafeFetcher, fetch_policy_from
from hotline.config import Settings
from hotline.grading.media_store import MediaStore
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
    crawl_id, page_id = int(ctx.payload["crawl_id"]), int(ctx.payload["page_id"])
    with ctx.db.read() as session:
        crawl_row = session.get(CrawlRow, crawl_id)
        page = session.get(CrawlPageRow, page_id)
        if crawl_row is None or page is None:
            return  # gone: nothing to do
        crawl = frontier.spec_of(crawl_row)
    if crawl.state != CrawlState.running or page.state != PageState.queued:
        return  # stopped, or done by an earlier run: the worker completes the job
    base = ctx.resource(FetchPolicy, fetch_policy_from)
    policy = crawler.crawl_policy(base, ctx.settings.crawl_contact)
    fetching = crawler.Fetching(ctx.db, _fetcher(policy), crawl)
    run = crawler.run_page(fetching, page)
    if run.retry_in is not None:
        with ctx.db.write() as session:
            row = session.get(CrawlPageRow, page_id)
            if row is not None and run.status is not None:
                row.tries += 1  # a 429/5xx answer; a busy host costs no try
            ctx.complete(session)
            frontier.enqueue_page(session, crawl_id, page_id, run.retry_in)
        return
    hashed = [m for m in run.media if m.hashes is not None]
    matches: list[known_material.KnownMatch | None] = []
    if hashed:
        with ctx.db.read() as session:
            matches = known_material.lookup(session, [crawler.known_hashes(m) for m in hashed])
    new = [m for m, match in zip(hashed, matches, strict=True) if match is None]
    scores_by_new = crawler.score_new(_classifier(ctx.settings, base), new)
    # Scores are keyed by the position among `hashed`, as record_page registers them.
    positions = [i for i, match in enumerate(matches) if match is None]
    scores = {positions[i]: s for i, s in scores_by_new.items()}
    with ctx.db.write() as session:
        crawler.record_page(
            session,
            crawl,
            page,
            run,
            matches,
            scores,
            store=_store(ctx.settings),
            retention=timedelta(days=ctx.settings.media_retention_days),
            likely_new_score=ctx.settings.crawl_likely_new_score,
            confirm=ctx.settings.proactive_confirm,
        )
        ctx.complete(session)

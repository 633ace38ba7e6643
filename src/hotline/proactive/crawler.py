"""One page of a crawl, in two phases: the network (robots.txt, the page, its media; under
the host's politeness; outside any transaction), then one write transaction with everything
it found, the links it queues and the job's completion.

Nothing is shown to anyone here. Media are hashed with every registered signal type and
matched with the one known-material lookup; known media make the page a reported URL of
origin `proactive`, its media pre-graded by inheritance, high in the queue for one analyst's
verdict (takedown follows that verdict as for any report). New media keep their hashes (bytes
only if the crawl says so, sealed, with retention) and wait for grading at a priority the
classifier may raise. A page with no media of interest leaves only counts.
"""

from __future__ import annotations

import json
import logging
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import cast
from urllib.parse import urljoin

from sqlalchemy import Table, bindparam, update
from sqlalchemy.orm import Session

from hotline import known as known_material
from hotline.assess import actions as assess_actions
from hotline.assess.evidence import FetchEvidence, FetchResult
from hotline.assess.extract import PageKind, decode_html, extract_media, page_kind
from hotline.assess.fetch_errors import FetchError, FetchErrorCode
from hotline.assess.fetcher import FetchPolicy, SafeFetcher
from hotline.assess.pipeline import KNOWN_MATCH_PRIORITY
from hotline.config import ProactiveConfirm
from hotline.db.base import utcnow
from hotline.db.engine import Database
from hotline.grading import service
from hotline.grading.media_store import MediaStore
from hotline.grading.tables import PageCaptureRow
from hotline.hashing import HashingError, MediaHashes, hash_bytes, plugin_signals_for
from hotline.intake import actions as intake_actions
from hotline.intake import reports
from hotline.intake.tables import ReportedUrlRow
from hotline.proactive import frontier, politeness, robots
from hotline.proactive.classifier import Classifier, ClassifierError
from hotline.proactive.frontier import CrawlSpec, PageState
from hotline.proactive.links import extract_links
from hotline.proactive.scope import Canonical, ScopeCheck, canonical
from hotline.proactive.tables import CrawlHostRow, CrawlPageRow, CrawlScoreRow
from hotline.security import audit

log = logging.getLogger(__name__)
MAX_MEDIA_PER_PAGE = 200  # a page linking thousands of media: the first 200 are fetched
MAX_PAGE_TRIES = 4  # 429/5xx answers to one page before it is recorded as an error
MEDIA_WAIT_S = 60.0  # the longest a page's media item waits for its host
MAX_CRAWL_PAGE_BYTES = 2 * 1024 * 1024  # HTML a crawl reads; captures allow more
LIKELY_NEW_PRIORITY = 1  # above public reports (0), below known material on the page (2)


def crawl_policy(base: FetchPolicy, contact: str) -> FetchPolicy:
    """The crawler's fetch policy: an identifying user agent, redirects not followed by the
    fetcher (each target is re-checked against the scope as a new link, then the SSRF guard
    vets it when fetched), a page cap lower than a capture's (a crawl reads many pages)."""
    agent = f"{robots.AGENT_PRODUCT}/1 (+{contact})" if contact else f"{robots.AGENT_PRODUCT}/1"
    return replace(
        base,
        user_agent=agent,
        max_redirects=0,
        max_page_bytes=min(base.max_page_bytes, MAX_CRAWL_PAGE_BYTES),
    )


# Recorded robots.txt decisions by database, then (crawl, host): final once recorded, so
# safe to keep; a database dropped (a test's) takes its decisions with it.
_ROBOTS: weakref.WeakKeyDictionary[Database, dict[tuple[int, str], tuple[str, str]]] = (
    weakref.WeakKeyDictionary()
)
_ROBOTS_KEPT = 10_000


@dataclass
class Media:
    url: str
    evidence: FetchEvidence | None
    hashes: MediaHashes | None = None
    signals: dict[str, str] = field(default_factory=dict)
    body: bytes | None = field(default=None, repr=False)
    error: str | None = None


@dataclass
class PageRun:
    """What the network phase found."""

    state: str = PageState.done
    status: int | None = None
    error: str | None = None
    evidence: FetchEvidence | None = None
    links: list[str] = field(default_factory=list)
    media: list[Media] = field(default_factory=list)
    retry_in: float | None = None  # reschedule the page (host busy or backing off)
    skipped_links: int = 0
    # An HTML page's media by URL key, before the crawl's claim says which this page fetches.
    wanted: dict[str, Canonical] = field(default_factory=dict)


class Fetching:
    """The network phase's tools: the crawl, its fetcher, the database (for politeness)."""

    def __init__(self, db: Database, fetcher: SafeFetcher, crawl: CrawlSpec) -> None:
        self.db, self.fetcher, self.crawl = db, fetcher, crawl

    def fetch(self, url: Canonical, purpose: str) -> FetchResult | politeness.Busy:
        """One request under the host's politeness; FetchError passes through."""
        rules = self.crawl.politeness
        if not rules.enabled:
            return self.fetcher.fetch(url.url, purpose="media" if purpose == "media" else "page")
        got = politeness.reserve(
            self.db, self.crawl.id, url.netloc, rules, hold_s=self.fetcher.policy.fetch_timeout_s
        )
        if isinstance(got, politeness.Busy):
            return got
        if got.wait_s > 0:
            time.sleep(got.wait_s)
        result: FetchResult | None = None
        started = utcnow()
        try:
            result = self.fetcher.fetch(url.url, purpose="media" if purpose == "media" else "page")
            return result
        finally:
            status = result.status if result is not None else None
            backoff = politeness.release(
                self.db, self.crawl.id, url.netloc, got, rules, status, started
            )
            if backoff is not None and result is not None:
                asked = politeness.retry_after_s(result.evidence.headers.get("retry-after"))
                if asked is not None:
                    politeness.honour_retry_after(self.db, self.crawl.id, url.netloc, asked)

    def robots_allow(self, url: Canonical, origin: str) -> bool | politeness.Busy:
        """The host's robots.txt decision (read once, recorded), applied to `url`. A recorded
        decision never changes, so this process keeps it (no query a page)."""
        kept = _ROBOTS.setdefault(self.db, {})
        decided = kept.get((self.crawl.id, url.netloc))
        if decided is None:
            with self.db.read() as session:
                host = (
                    session.query(CrawlHostRow)
                    .filter_by(crawl_id=self.crawl.id, host=url.netloc)
                    .one_or_none()
                )
                if host is not None and host.robots_state:
                    decided = (host.robots_state, host.robots_rules or "")
        if decided is None:
            rules = self.crawl.politeness
            slot: politeness.Slot | politeness.Busy = politeness.Slot(0.0, None)
            if rules.enabled:
                slot = politeness.reserve(
                    self.db,
                    self.crawl.id,
                    url.netloc,
                    rules,
                    hold_s=self.fetcher.policy.fetch_timeout_s,
                )
                if isinstance(slot, politeness.Busy):
                    return slot
                time.sleep(slot.wait_s)
            started = utcnow()
            try:
                decision = robots.read_robots(self.fetcher, origin)
            finally:
                if rules.enabled and isinstance(slot, politeness.Slot):
                    politeness.release(
                        self.db, self.crawl.id, url.netloc, slot, rules, None, started
                    )
            with self.db.write() as session:
                politeness._host_row(session, self.crawl.id, url.netloc)
                row = (
                    session.query(CrawlHostRow)
                    .filter_by(crawl_id=self.crawl.id, host=url.netloc)
                    .one()
                )
                if row.robots_state is None:
                    row.robots_state = decision.state.value
                    row.robots_rules = decision.text
                    audit.record(
                        session,
                        audit.SYSTEM,
                        "crawl.robots_read",
                        "crawl",
                        self.crawl.id,
                        {
                            "host": url.netloc,
                            "decision": decision.state.value,
                            "note": decision.note,
                            "override": self.crawl.robots_override is not None,
                        },
                    )
                decided = (row.robots_state, row.robots_rules or "")
        if len(kept) >= _ROBOTS_KEPT:
            kept.clear()  # memory stays flat however many hosts a process meets
        kept[(self.crawl.id, url.netloc)] = decided
        if self.crawl.robots_override is not None:
            return True
        return robots.allows(decided[0], decided[1], url.url)


def run_page(fetching: Fetching, page: CrawlPageRow) -> PageRun:
    """The network phase for one queued page."""
    return run_pages(fetching, [page])[0]


def run_pages(
    fetching: Fetching, pages: Sequence[CrawlPageRow], beat: Callable[[], None] | None = None
) -> list[PageRun]:
    """The network phase for a batch of queued pages: each page, then one transaction that
    claims every page's media (nothing is fetched twice), then the media each page won.
    `beat` is called after each request (the job's lease is kept while a batch runs)."""
    runs: list[PageRun] = []
    for page in pages:
        runs.append(_fetch_page(fetching, page))
        if beat is not None:
            beat()
    wanted = {page.id: list(run.wanted) for page, run in zip(pages, runs, strict=True)}
    if any(wanted.values()):
        with fetching.db.write() as session:
            mine = frontier.claim_media(session, fetching.crawl.id, wanted)
        for page, run in zip(pages, runs, strict=True):
            for key, media_url in run.wanted.items():
                if key not in mine[page.id]:
                    continue  # another page of this crawl fetches it
                run.media.append(_fetch_media(fetching, media_url))
                if beat is not None:
                    beat()
    return runs


def _fetch_page(fetching: Fetching, page: CrawlPageRow) -> PageRun:
    """The page itself (robots.txt first); an HTML page's media are only listed."""
    url = canonical(page.url)
    run = PageRun()
    if url is None:
        return PageRun(state=PageState.error, error="bad_url")
    origin = url.url[: url.url.index(url.netloc) + len(url.netloc)]
    allowed = fetching.robots_allow(url, origin)
    if isinstance(allowed, politeness.Busy):
        return _busy(allowed)
    if not allowed:
        return PageRun(state=PageState.skipped, error="robots_disallowed")
    try:
        got = fetching.fetch(url, "page")
    except FetchError as exc:
        run.evidence = exc.evidence
        last = exc.evidence.hops[-1] if exc.evidence and exc.evidence.hops else None
        if exc.code is FetchErrorCode.TOO_MANY_REDIRECTS and last and last.location:
            # A redirect: its target is a link like any other, checked against the scope.
            run.status = last.status
            run.links = [urljoin(last.url, last.location.strip())]
            return run
        run.state, run.error = PageState.error, exc.code.value
        return run
    if isinstance(got, politeness.Busy):
        return _busy(got)
    run.evidence, run.status = got.evidence, got.status
    if got.status == 429 or got.status >= 500:
        if page.tries + 1 < MAX_PAGE_TRIES:
            asked = politeness.retry_after_s(got.evidence.headers.get("retry-after"))
            run.retry_in = max(asked or 0.0, fetching.crawl.politeness.backoff_base_s)
            return run
        run.state, run.error = PageState.error, f"http_{got.status}"
        return run
    if not 200 <= got.status < 300:
        run.state, run.error = PageState.error, f"http_{got.status}"
        return run
    kind = page_kind(got.content_type, got.body)
    if kind is PageKind.MEDIA:
        run.media = [_hashed(url.url, got)]
        return run
    if kind is not PageKind.HTML:
        return run
    html = decode_html(got.body, got.charset)
    run.links, run.skipped_links = extract_links(html, got.final_url)
    found = extract_media(html, got.final_url, max_items=MAX_MEDIA_PER_PAGE)
    run.skipped_links += found.dropped
    for ref in found.refs:
        media_url = canonical(ref.url)
        if media_url is not None:
            run.wanted.setdefault(media_url.key, media_url)
    return run


def _busy(busy: politeness.Busy) -> PageRun:
    if busy.given_up:
        return PageRun(state=PageState.error, error="host_gave_up")
    return PageRun(retry_in=max(busy.retry_s, 0.05))


def _fetch_media(fetching: Fetching, url: Canonical) -> Media:
    """A page's media item: waits its turn at the host (another worker may hold the slot),
    up to MEDIA_WAIT_S in all; a host backing off longer leaves the item unfetched."""
    waited = 0.0
    while True:
        try:
            got = fetching.fetch(url, "media")
        except FetchError as exc:
            return Media(url.url, exc.evidence, error=exc.code.value)
        if not isinstance(got, politeness.Busy):
            return _hashed(url.url, got)
        if got.given_up or waited + got.retry_s > MEDIA_WAIT_S:
            return Media(url.url, None, error="host_busy")
        time.sleep(got.retry_s)
        waited += got.retry_s


def _hashed(url: str, got: FetchResult) -> Media:
    if not 200 <= got.status < 300:
        return Media(url, got.evidence, error=f"http_{got.status}")
    try:
        hashes = hash_bytes(got.body)
    except HashingError as exc:
        return Media(url, got.evidence, error=exc.code.value)
    except Exception as exc:  # a decoder bug must not sink the page
        return Media(url, got.evidence, error=f"hashing_failed:{type(exc).__name__}")
    signals = plugin_signals_for(got.body, hashes.kind.value)
    return Media(url, got.evidence, hashes, signals, got.body)


@dataclass(frozen=True)
class Scored:
    scores: dict[str, float]
    model: str
    version: str


def score_new(classifier: Classifier | None, media: list[Media]) -> dict[int, Scored]:
    """Scores of the items (by index) the classifier could score; failures are logged."""
    out: dict[int, Scored] = {}
    if classifier is None:
        return out
    for i, item in enumerate(media):
        if item.hashes is None or item.body is None:
            continue
        try:
            scores = classifier.classify(item.hashes.kind.value, item.body)
        except ClassifierError as exc:
            log.info("classifier gave no score for %s: %s", item.url, exc)
            continue
        out[i] = Scored(scores, classifier.name, classifier.version)
    return out


@dataclass(frozen=True)
class Recorded:
    known: int
    unknown: int
    url_id: int | None
    likely_new: bool


@dataclass(frozen=True)
class PageResult:
    """A page's network phase and what the lookup and the classifier made of its media:
    `matches` by position among its hashed media, `scores` by the same positions."""

    page: CrawlPageRow
    run: PageRun
    matches: list[known_material.KnownMatch | None]
    scores: dict[int, Scored]


def record_page(
    session: Session,
    crawl: CrawlSpec,
    page: CrawlPageRow,
    run: PageRun,
    matches: list[known_material.KnownMatch | None],
    scores: dict[int, Scored],
    *,
    store: MediaStore | None,
    retention: timedelta,
    likely_new_score: float,
    confirm: ProactiveConfirm = ProactiveConfirm.analyst,
) -> Recorded:
    """`record_pages` for one page."""
    return record_pages(
        session,
        crawl,
        [PageResult(page, run, matches, scores)],
        store=store,
        retention=retention,
        likely_new_score=likely_new_score,
        confirm=confirm,
    )[0]


def record_pages(
    session: Session,
    crawl: CrawlSpec,
    results: Sequence[PageResult],
    *,
    store: MediaStore | None,
    retention: timedelta,
    likely_new_score: float,
    confirm: ProactiveConfirm = ProactiveConfirm.analyst,
) -> list[Recorded]:
    """The write phase of a batch of pages, in the caller's transaction (which completes the
    job): each page's findings, then the links of them all, the crawl's counters and its
    finish check once. With `confirm` none, a page whose media matched known material of a
    criminal category gets the system's criminal verdict here (takedown follows); unknown
    media never do."""
    # The crawl's row first (frontier.lock_crawl): stop_crawl locks it, then the audit head;
    # locking it only when adding links, after the pages' reports took the audit head, made
    # the two deadlock on PostgreSQL (tests/proactive/test_stop_while_writing.py).
    frontier.lock_crawl(session, crawl.id)
    recorded: list[Recorded] = []
    pages: list[dict[str, object]] = []
    links: list[tuple[CrawlPageRow, list[str]]] = []
    counts = dict.fromkeys(
        ("pages", "media", "known", "unknown", "errors", "skipped", "likely_new"), 0
    )
    now = utcnow()
    for result in results:
        page, run = result.page, result.run
        done = _record_one(session, crawl, result, store, retention, likely_new_score, confirm, now)
        recorded.append(done)
        hashed = done.known + done.unknown
        pages.append(
            {
                "b_id": page.id,
                "state": run.state,
                "status": run.status,
                "error_code": run.error,
                "media": hashed,
                "known": done.known,
                "unknown": done.unknown,
                "url_id": done.url_id,
                "fetched_at": now,
            }
        )
        counts["pages"] += 1 if run.state != PageState.skipped else 0
        counts["media"] += hashed
        counts["known"] += done.known
        counts["unknown"] += done.unknown
        counts["errors"] += (1 if run.state == PageState.error else 0) + sum(
            1 for m in run.media if m.error is not None
        )
        counts["skipped"] += run.skipped_links + (1 if run.state == PageState.skipped else 0)
        counts["likely_new"] += 1 if done.likely_new and done.url_id is not None else 0
        if run.state == PageState.done:
            links.append((page, run.links))
    if pages:
        table = cast(Table, CrawlPageRow.__table__)
        # One UPDATE run for every page (the SET clause from the parameters' names).
        session.execute(update(table).where(table.c.id == bindparam("b_id")), pages)
    counts["skipped"] += _queue_links(session, crawl, links)
    frontier.bump(session, crawl.id, **counts)
    frontier.finish_if_drained(session, crawl.id)
    return recorded


def _record_one(
    session: Session,
    crawl: CrawlSpec,
    result: PageResult,
    store: MediaStore | None,
    retention: timedelta,
    likely_new_score: float,
    confirm: ProactiveConfirm,
    now: datetime,
) -> Recorded:
    """One page's report, media, priority, verdict (confirm none), capture and audit."""
    page, run, matches, scores = result.page, result.run, result.matches, result.scores
    hashed = [m for m in run.media if m.hashes is not None]
    known = sum(1 for m in matches if m is not None)
    unknown = len(hashed) - known
    url_id: int | None = None
    likely = any(s.scores and max(s.scores.values()) >= likely_new_score for s in scores.values())
    if hashed:
        url_id = _report(session, crawl, page.url)
        if url_id is not None:
            _register(
                session, crawl, url_id, hashed, matches, scores, store, retention, likely_new_score
            )
            _prioritise(session, url_id, known, likely)
            if confirm is ProactiveConfirm.none:
                _confirm_known(session, url_id, matches)
            session.add(
                PageCaptureRow(
                    url_id=url_id,
                    at=now,
                    status=run.status,
                    error_code=run.error,
                    item_count=len(run.media),
                    new_items=unknown,
                    known_items=known,
                    failed_items=len(run.media) - len(hashed),
                    evidence=_evidence_json(run),
                )
            )
    if known or (likely and url_id is not None):
        audit.record(
            session,
            audit.SYSTEM,
            "crawl.found",
            "crawl",
            crawl.id,
            {
                "page": page.id,
                "url_id": url_id,
                "known": known,
                "unknown": unknown,
                "likely_new": likely,
            },
        )
    return Recorded(known, unknown, url_id, likely)


def _queue_links(
    session: Session, crawl: CrawlSpec, pages: Sequence[tuple[CrawlPageRow, list[str]]]
) -> int:
    """Queue the in-scope links of these pages (one insert for them all); returns how many
    were refused."""
    check = ScopeCheck(crawl.scope, crawl.seed_host)
    accepted: list[tuple[Canonical, int]] = []
    refused = 0
    for page, links in pages:
        for raw in links:
            link = canonical(raw)
            if link is None or check.refuse(link, page.depth + 1) is not None:
                refused += 1
                continue
            accepted.append((link, page.depth + 1))
    frontier.add_pages(session, crawl, accepted)
    return refused


def _report(session: Session, crawl: CrawlSpec, url: str) -> int | None:
    """The page as a report of origin `proactive` (de-duplicated by URL like any report)."""
    try:
        checked = reports.validate(
            {"url": url, "description": f"Found by proactive crawl {crawl.id}."}
        )
    except Exception:  # a URL intake refuses (a non-public host): counted, not reported
        log.info("crawl %s: page %s is not a reportable URL", crawl.id, url)
        return None
    return intake_actions.receive_report(
        session, checked, reports.Source.api, origin=reports.Origin.proactive
    ).url_id


def _register(
    session: Session,
    crawl: CrawlSpec,
    url_id: int,
    hashed: list[Media],
    matches: list[known_material.KnownMatch | None],
    scores: dict[int, Scored],
    store: MediaStore | None,
    retention: timedelta,
    likely_new_score: float,
) -> None:
    keep = crawl.keep_bytes and store is not None
    purge_after = utcnow() + retention
    items: list[service.MediaIn] = []
    for item, match in zip(hashed, matches, strict=True):
        assert item.hashes is not None and item.body is not None
        items.append(
            service.MediaIn(
                url_id=url_id,
                source_url=item.url,
                kind=item.hashes.kind.value,
                hashes=service.MediaHashesIn.of(item.hashes, item.signals),
                byte_count=len(item.body),
                stored=keep and match is None,
                purge_after=purge_after,
                inherited=known_material.inherited(session, match) if match else None,
            )
        )
    registered = service.register_media_many(session, items)
    for i, (item, match, media) in enumerate(zip(hashed, matches, registered, strict=True)):
        if match is None and keep and store is not None:
            assert item.body is not None
            store.put(media.id, item.body)
        scored = scores.get(i)
        if match is None and scored is not None:
            top = max(scored.scores.values(), default=0.0)
            session.add(
                CrawlScoreRow(
                    crawl_id=crawl.id,
                    media_id=media.id,
                    scores=json.dumps(scored.scores, sort_keys=True),
                    model=scored.model[:128],
                    model_version=scored.version[:128],
                    scored_at=utcnow(),
                    top_score=top,
                    likely_new=top >= likely_new_score,
                )
            )


CRIMINAL_CATEGORIES = frozenset({"A", "B", "C"})  # grading's UK categories, not not_illegal


def _confirm_known(
    session: Session, url_id: int, matches: list[known_material.KnownMatch | None]
) -> None:
    """HOTLINE_PROACTIVE_CONFIRM=none: known material of a criminal category makes the
    system's verdict, with what matched and where the list came from. Only matches count:
    a page of unknown media is never decided here, whatever a classifier said."""
    matched = [
        {
            "source": m.source,
            "category": m.category,
            "signal": m.signal,
            "distance": m.distance,
            "media_id": m.media_id,
            "list_name": m.list_name,
            "list_source": m.list_source,
            "entry_id": m.entry_id,
        }
        for m in matches
        if m is not None and m.category in CRIMINAL_CATEGORIES
    ]
    if matched:
        assess_actions.record_known_material_verdict(
            session, url_id, matched, ProactiveConfirm.none.value
        )


def _prioritise(session: Session, url_id: int, known: int, likely: bool) -> None:
    """Raise the URL's priority (never lower it): one UPDATE, no row loaded."""
    if not (known or likely):
        return
    wanted = KNOWN_MATCH_PRIORITY if known else LIKELY_NEW_PRIORITY
    session.execute(
        update(ReportedUrlRow)
        .where(ReportedUrlRow.id == url_id, ReportedUrlRow.priority < wanted)
        .values(priority=wanted)
        .execution_options(synchronize_session=False)
    )


def known_hashes(item: Media) -> known_material.KnownHashes:
    assert item.hashes is not None
    hashes = service.MediaHashesIn.of(item.hashes, item.signals)
    return known_material.KnownHashes(
        sha256=hashes.sha256,
        md5=hashes.md5,
        sha1=hashes.sha1,
        pdq=hashes.pdq,
        pdq_quality=hashes.pdq_quality,
    )


def _evidence_json(run: PageRun) -> str:
    return json.dumps(
        {
            "page": run.evidence.to_json() if run.evidence else None,
            "origin": "proactive",
            "items": [
                {
                    "url": m.url,
                    "evidence": m.evidence.to_json() if m.evidence else None,
                    "error_code": m.error,
                }
                for m in run.media
            ],
        },
        sort_keys=True,
        default=str,
    )

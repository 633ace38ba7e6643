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
from datetime import timedelta
from typing import cast
from urllib.parse import urljoin

from sqlalchemy import Table, bindparam, insert, update
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
    `beat` is called after each request (the job's lease is kept while a batch runs).
    One request at a time: fetch threads (4 a worker, tried) cost more CPU in switching than
    they saved in waiting, two workers on two cores (docs/benchmarks.md)."""
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
    `matches` by position among its hashed media, `scores` by the same positions;
    `inherited`, what each match passes on (read beside the lookup, outside the write), or
    None to read it in the write."""

    page: CrawlPageRow
    run: PageRun
    matches: list[known_material.KnownMatch | None]
    scores: dict[int, Scored]
    inherited: list[service.Inherited | None] | None = None


@dataclass
class _Ready:
    """One page made ready to write: everything but the ids the write hands out."""

    result: PageResult
    hashed: list[Media]
    known: int
    unknown: int
    likely: bool
    report: reports.ReportInput | None  # the page as a report, when it has media to record
    evidence: str  # its capture's evidence (JSON), when it has a report
    url_id: int | None = None


@dataclass
class Prepared:
    """A batch of pages made ready outside the write transaction (their reports validated,
    evidence as JSON, links canonical and checked against the scope, counters summed), so
    that the write holds SQLite's one write lock, or the crawl's row, for its statements
    alone."""

    pages: list[_Ready]
    links: list[tuple[Canonical, int]]
    counts: dict[str, int]
    likely_new_score: float  # a score at least this routes the item up


def prepare_pages(
    crawl: CrawlSpec, results: Sequence[PageResult], likely_new_score: float
) -> Prepared:
    """The CPU part of `record_pages`, with no database."""
    ready: list[_Ready] = []
    links: list[tuple[Canonical, int]] = []
    check = ScopeCheck(crawl.scope, crawl.seed_host)
    counts = dict.fromkeys(
        ("pages", "media", "known", "unknown", "errors", "skipped", "likely_new"), 0
    )
    for result in results:
        page, run = result.page, result.run
        hashed = [m for m in run.media if m.hashes is not None]
        known = sum(1 for m in result.matches if m is not None)
        unknown = len(hashed) - known
        likely = any(
            s.scores and max(s.scores.values()) >= likely_new_score for s in result.scores.values()
        )
        report = _reportable(crawl, page.url) if hashed else None
        evidence = _evidence_json(run) if report is not None else ""
        ready.append(_Ready(result, hashed, known, unknown, likely, report, evidence))
        counts["pages"] += 1 if run.state != PageState.skipped else 0
        counts["media"] += len(hashed)
        counts["known"] += known
        counts["unknown"] += unknown
        counts["errors"] += (1 if run.state == PageState.error else 0) + sum(
            1 for m in run.media if m.error is not None
        )
        counts["skipped"] += run.skipped_links + (1 if run.state == PageState.skipped else 0)
        counts["likely_new"] += 1 if likely and report is not None else 0
        if run.state == PageState.done:
            for raw in run.links:
                link = canonical(raw)
                if link is None or check.refuse(link, page.depth + 1) is not None:
                    counts["skipped"] += 1
                    continue
                links.append((link, page.depth + 1))
    return Prepared(ready, links, counts, likely_new_score)


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
    job): `prepare_pages`, then `write_pages`. A caller holding a write lock prepares first."""
    prepared = prepare_pages(crawl, results, likely_new_score)
    return write_pages(session, crawl, prepared, store=store, retention=retention, confirm=confirm)


_CAPTURES = insert(cast(Table, PageCaptureRow.__table__))
_SCORES = insert(cast(Table, CrawlScoreRow.__table__))
_PAGES = cast(Table, CrawlPageRow.__table__)
# One UPDATE run for every page (the SET clause from the parameters' names).
_PAGE_DONE = update(_PAGES).where(_PAGES.c.id == bindparam("b_id"))
_URLS = cast(Table, ReportedUrlRow.__table__)
# Raise a URL's priority, never lower it: no row loaded.
_RAISE = (
    update(_URLS)
    .where(_URLS.c.id == bindparam("b_id"), _URLS.c.priority < bindparam("b_priority"))
    .values(priority=bindparam("b_priority"))
)


def write_pages(
    session: Session,
    crawl: CrawlSpec,
    prepared: Prepared,
    *,
    store: MediaStore | None,
    retention: timedelta,
    confirm: ProactiveConfirm = ProactiveConfirm.analyst,
) -> list[Recorded]:
    """A prepared batch's findings, in the caller's transaction, a statement or two for the
    whole batch at each step: the pages' reports (intake's action, audited), their media
    (grading's), priorities, captures and what was found (one audit append), the pages' rows,
    the links of them all, the crawl's counters and its finish check. With `confirm` none, a
    page whose media matched known material of a criminal category gets the system's
    criminal verdict here (takedown follows); unknown media never do."""
    # The crawl's row first (frontier.lock_crawl): stop_crawl locks it, then the audit head;
    # locking it only when adding links, after the pages' reports took the audit head, made
    # the two deadlock on PostgreSQL (tests/proactive/test_stop_while_writing.py).
    frontier.lock_crawl(session, crawl.id)
    now = utcnow()
    reporting = [r for r in prepared.pages if r.report is not None]
    submitted = intake_actions.receive_reports(
        session,
        [r.report for r in reporting if r.report is not None],
        reports.Source.api,
        origin=reports.Origin.proactive,
    )
    for ready, one in zip(reporting, submitted, strict=True):
        ready.url_id = one.url_id
    _register(session, crawl, reporting, store, retention, prepared.likely_new_score)
    raised = [
        {"b_id": r.url_id, "b_priority": KNOWN_MATCH_PRIORITY if r.known else LIKELY_NEW_PRIORITY}
        for r in reporting
        if r.known or r.likely
    ]
    if raised:
        session.execute(_RAISE.execution_options(synchronize_session=False), raised)
    if confirm is ProactiveConfirm.none:
        for ready in reporting:
            assert ready.url_id is not None
            _confirm_known(session, ready.url_id, ready.result.matches)
    if reporting:
        session.execute(
            _CAPTURES,
            [
                {
                    "url_id": r.url_id,
                    "at": now,
                    "status": r.result.run.status,
                    "error_code": r.result.run.error,
                    "item_count": len(r.result.run.media),
                    "new_items": r.unknown,
                    "known_items": r.known,
                    "failed_items": len(r.result.run.media) - len(r.hashed),
                    "evidence": r.evidence,
                }
                for r in reporting
            ],
        )
    found = [
        audit.NewEntry(
            audit.SYSTEM,
            "crawl.found",
            "crawl",
            str(crawl.id),
            {
                "page": r.result.page.id,
                "url_id": r.url_id,
                "known": r.known,
                "unknown": r.unknown,
                "likely_new": r.likely,
            },
        )
        for r in prepared.pages
        if r.known or (r.likely and r.url_id is not None)
    ]
    audit.record_many(session.connection(), found)
    if prepared.pages:
        session.execute(
            _PAGE_DONE.execution_options(synchronize_session=False),
            [
                {
                    "b_id": r.result.page.id,
                    "state": r.result.run.state,
                    "status": r.result.run.status,
                    "error_code": r.result.run.error,
                    "media": len(r.hashed),
                    "known": r.known,
                    "unknown": r.unknown,
                    "url_id": r.url_id,
                    "fetched_at": now,
                }
                for r in prepared.pages
            ],
        )
    _queue_links(session, crawl, prepared.links)
    frontier.bump(session, crawl.id, **prepared.counts)
    frontier.finish_if_drained(session, crawl.id)
    return [Recorded(r.known, r.unknown, r.url_id, r.likely) for r in prepared.pages]


def _queue_links(
    session: Session, crawl: CrawlSpec, links: Sequence[tuple[Canonical, int]]
) -> None:
    """Queue the batch's in-scope links (one insert for them all)."""
    frontier.add_pages(session, crawl, links)


def _reportable(crawl: CrawlSpec, url: str) -> reports.ReportInput | None:
    """The page as a report of origin `proactive` (de-duplicated by URL like any report), or
    None for a URL intake refuses (a non-public host): counted, not reported."""
    try:
        return reports.validate(
            {"url": url, "description": f"Found by proactive crawl {crawl.id}."}
        )
    except Exception:
        log.info("crawl %s: page %s is not a reportable URL", crawl.id, url)
        return None


def _register(
    session: Session,
    crawl: CrawlSpec,
    reporting: Sequence[_Ready],
    store: MediaStore | None,
    retention: timedelta,
    likely_new_score: float,
) -> None:
    """Every reported page's media in one `register_media_many`; new items' bytes sealed
    when the crawl keeps them; the classifier's scores."""
    keep = crawl.keep_bytes and store is not None
    purge_after = utcnow() + retention
    items: list[service.MediaIn] = []
    owners: list[tuple[_Ready, int]] = []
    for ready in reporting:
        result = ready.result
        inherited = result.inherited
        if inherited is None:
            inherited = [
                known_material.inherited(session, m) if m else None for m in result.matches
            ]
        for i, (item, match) in enumerate(zip(ready.hashed, result.matches, strict=True)):
            assert item.hashes is not None and item.body is not None
            items.append(
                service.MediaIn(
                    url_id=ready.url_id,
                    source_url=item.url,
                    kind=item.hashes.kind.value,
                    hashes=service.MediaHashesIn.of(item.hashes, item.signals),
                    byte_count=len(item.body),
                    stored=keep and match is None,
                    purge_after=purge_after,
                    inherited=inherited[i],
                )
            )
            owners.append((ready, i))
    registered = service.register_media_many(session, items)
    scores: list[dict[str, object]] = []
    for (ready, i), media in zip(owners, registered, strict=True):
        if ready.result.matches[i] is not None:
            continue
        if keep and store is not None:
            body = ready.hashed[i].body
            assert body is not None
            store.put(media.id, body)
        scored = ready.result.scores.get(i)
        if scored is not None:
            top = max(scored.scores.values(), default=0.0)
            scores.append(
                {
                    "crawl_id": crawl.id,
                    "media_id": media.id,
                    "scores": json.dumps(scored.scores, sort_keys=True),
                    "model": scored.model[:128],
                    "model_version": scored.version[:128],
                    "scored_at": utcnow(),
                    "top_score": top,
                    "likely_new": top >= likely_new_score,
                }
            )
    if scores:
        session.execute(_SCORES, scores)


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

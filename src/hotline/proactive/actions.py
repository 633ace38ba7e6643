"""Proactive search's use cases: the allow-list, starting and stopping a crawl, and the
audited views of crawls' progress. Each checks permission, validates, writes, audits, in the
caller's transaction (docs/architecture.md, "Actions")."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline.db.base import utcnow
from hotline.errors import N_, Conflict, FieldError, Forbidden, InvalidInput, NotFound
from hotline.intake.tables import ReportedUrlRow
from hotline.intake.urls import UrlError, normalise_url
from hotline.proactive import frontier
from hotline.proactive.frontier import CrawlState, PageState
from hotline.proactive.politeness import Politeness
from hotline.proactive.scope import ScopeRules, canonical, registrable_domain
from hotline.proactive.tables import CrawlAllowedDomainRow, CrawlPageRow, CrawlRow
from hotline.security import audit
from hotline.security.crypto import sha256_hex
from hotline.security.permissions import Action, Actor, allowed

CRIMINAL = "criminal"  # assess.queue.Verdict.criminal, read by value (assess is earlier)
MAX_ALLOW_DAYS = 365
MAX_TEXT = 2000


def _permit(actor: Actor, action: Action, resource: object | None = None) -> None:
    if not allowed(actor, action, resource):
        raise Forbidden(N_("your role does not allow managing or viewing crawls"))


def _text(errors: list[FieldError], name: str, value: str | None, *, required: bool) -> str | None:
    text = (value or "").strip()
    if not text:
        if required:
            errors.append(FieldError(name, N_("this field is required")))
        return None
    if len(text) > MAX_TEXT:
        errors.append(FieldError(name, N_("must be at most %(max)s characters long", max=MAX_TEXT)))
        return None
    return text


def allow_domain(session: Session, actor: Actor, domain: str, reason: str, days: int) -> datetime:
    """Put a registrable domain on the crawl allow-list (or renew it) for `days` days."""
    _permit(actor, Action.crawl_manage, domain)
    errors: list[FieldError] = []
    name = (domain or "").strip().lower().rstrip(".")
    try:
        checked = normalise_url(f"https://{name}/")
        if registrable_domain(checked.host) != checked.host:
            errors.append(FieldError("domain", N_("give the registrable domain (example.org)")))
    except UrlError as exc:
        errors.append(FieldError("domain", str(exc)))
    why = _text(errors, "reason", reason, required=True)
    if not isinstance(days, int) or not 1 <= days <= MAX_ALLOW_DAYS:
        errors.append(
            FieldError(
                "days",
                N_("must be a whole number from %(min)s to %(max)s", min=1, max=MAX_ALLOW_DAYS),
            )
        )
    if errors or why is None:
        raise InvalidInput(
            N_("the allow-list entry has problems; nothing was stored"), fields=errors
        )
    now = utcnow()
    expires = now + timedelta(days=days)
    row = session.execute(
        select(CrawlAllowedDomainRow).where(CrawlAllowedDomainRow.domain == name)
    ).scalar_one_or_none()
    if row is None:
        row = CrawlAllowedDomainRow(
            domain=name, reason=why, added_by=actor.username, added_at=now, expires_at=expires
        )
        session.add(row)
    else:
        row.reason, row.added_by, row.added_at, row.expires_at = why, actor.username, now, expires
    audit.record(
        session,
        actor.username,
        "crawl.domain_allowed",
        "crawl_domain",
        name,
        {"reason": why, "expires_at": expires.isoformat()},
    )
    return expires


@dataclass(frozen=True)
class Basis:
    kind: str  # "verdict" or "allow_list"
    ref: str


def _basis(session: Session, url: str, host: str) -> Basis:
    """Why a crawl may start here, or InvalidInput: only confirmed material seeds a crawl."""
    verdict = session.execute(
        select(ReportedUrlRow.id, ReportedUrlRow.verdict).where(
            ReportedUrlRow.url_hash == sha256_hex(url)
        )
    ).one_or_none()
    if verdict is not None and verdict.verdict == CRIMINAL:
        return Basis("verdict", str(verdict.id))
    domain = registrable_domain(host)
    listed = session.execute(
        select(CrawlAllowedDomainRow).where(
            CrawlAllowedDomainRow.domain == domain, CrawlAllowedDomainRow.expires_at > utcnow()
        )
    ).scalar_one_or_none()
    if listed is not None:
        return Basis("allow_list", domain)
    raise InvalidInput(
        N_("a crawl starts only from confirmed material; nothing was started"),
        fields=[
            FieldError(
                "url",
                N_("has no criminal verdict and its domain is not on the crawl allow-list"),
            )
        ],
    )


def start_crawl(
    session: Session,
    actor: Actor,
    seed_url: str,
    *,
    scope: ScopeRules,
    politeness: Politeness,
    robots_override: str | None = None,
    keep_bytes: bool = False,
) -> int:
    """Start a crawl from a URL with a criminal verdict or on an allow-listed domain.
    `robots_override`: the written legal basis for not obeying robots.txt (None: obey it)."""
    _permit(actor, Action.crawl_manage, seed_url)
    errors: list[FieldError] = []
    try:
        checked = normalise_url(seed_url)
    except UrlError as exc:
        raise InvalidInput(
            N_("the crawl's start has problems; nothing was started"),
            fields=[FieldError("url", str(exc))],
        ) from exc
    basis_text = _text(errors, "robots_override", robots_override, required=False)
    if errors:
        raise InvalidInput(N_("the crawl's start has problems; nothing was started"), fields=errors)
    basis = _basis(session, checked.url, checked.host)
    seed = canonical(checked.url)
    assert seed is not None  # normalise_url made it an absolute http(s) URL
    now = utcnow()
    row = CrawlRow(
        seed_url=seed.url,
        seed_host=seed.host,
        basis=basis.kind,
        basis_ref=basis.ref,
        scope=json.dumps(scope.to_json(), sort_keys=True),
        politeness=json.dumps(politeness.to_json(), sort_keys=True),
        robots_override=basis_text,
        keep_bytes=keep_bytes,
        state=CrawlState.running,
        created_by=actor.username,
        created_at=now,
        updated_at=now,
        pages=0,
        media=0,
        known=0,
        unknown=0,
        errors=0,
        skipped=0,
        likely_new=0,
    )
    session.add(row)
    session.flush()
    frontier.add_pages(session, frontier.spec_of(row), [(seed, 0)])
    audit.record(
        session,
        actor.username,
        "crawl.started",
        "crawl",
        row.id,
        {
            "seed": seed.url,
            "basis": basis.kind,
            "basis_ref": basis.ref,
            "scope": scope.to_json(),
            "politeness": politeness.to_json(),
            "robots_override": basis_text,
            "keep_bytes": keep_bytes,
        },
    )
    return row.id


def stop_crawl(session: Session, actor: Actor, crawl_id: int) -> None:
    """Stop a running crawl: its queued pages are left unfetched (their jobs end at once)."""
    _permit(actor, Action.crawl_manage, crawl_id)
    row = session.get(CrawlRow, crawl_id, with_for_update=True)
    if row is None:
        raise NotFound(N_("there is no crawl with that id"))
    if row.state != CrawlState.running:
        raise Conflict(N_("the crawl is %(state)s, not running", state=row.state))
    row.state, row.updated_at = CrawlState.stopped, utcnow()
    audit.record(session, actor.username, "crawl.stopped", "crawl", crawl_id, {})


@dataclass(frozen=True)
class CrawlView:
    id: int
    seed_url: str
    basis: str
    state: str
    created_by: str
    created_at: datetime
    updated_at: datetime
    pages: int
    media: int
    known: int
    unknown: int
    errors: int
    skipped: int
    likely_new: int
    queued: int
    robots_override: str | None

    @property
    def yield_per_1000(self) -> float:
        """Known media found per 1,000 pages fetched."""
        return round(1000.0 * self.known / self.pages, 1) if self.pages else 0.0

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "seed_url": self.seed_url,
            "basis": self.basis,
            "state": self.state,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "pages": self.pages,
            "media": self.media,
            "known": self.known,
            "unknown": self.unknown,
            "errors": self.errors,
            "skipped": self.skipped,
            "likely_new": self.likely_new,
            "queued": self.queued,
            "known_per_1000_pages": self.yield_per_1000,
            "robots_override": self.robots_override,
        }


def _view(session: Session, row: CrawlRow) -> CrawlView:
    queued = session.execute(
        select(func.count())
        .select_from(CrawlPageRow)
        .where(CrawlPageRow.crawl_id == row.id, CrawlPageRow.state == PageState.queued)
    ).scalar_one()
    return CrawlView(
        row.id,
        row.seed_url,
        row.basis,
        row.state,
        row.created_by,
        row.created_at,
        row.updated_at,
        row.pages,
        row.media,
        row.known,
        row.unknown,
        row.errors,
        row.skipped,
        row.likely_new,
        int(queued),
        row.robots_override,
    )


def list_crawls(session: Session, actor: Actor, limit: int = 100) -> list[CrawlView]:
    """The latest crawls with their progress (a view: audited)."""
    _permit(actor, Action.crawl_view)
    rows = session.execute(select(CrawlRow).order_by(CrawlRow.id.desc()).limit(limit)).scalars()
    views = [_view(session, r) for r in rows]
    audit.record(session, actor.username, "crawl.list_viewed", "crawl", "*", {"count": len(views)})
    return views


def crawl_status(session: Session, actor: Actor, crawl_id: int) -> CrawlView:
    """One crawl's progress and yield (a view: audited)."""
    _permit(actor, Action.crawl_view, crawl_id)
    row = session.get(CrawlRow, crawl_id)
    if row is None:
        raise NotFound(N_("there is no crawl with that id"))
    view = _view(session, row)
    audit.record(session, actor.username, "crawl.viewed", "crawl", crawl_id, {})
    return view

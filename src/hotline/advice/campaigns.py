"""Awareness campaigns: one page each (title, summary, partners, dates, videos by language),
seeded from `seed/campaigns.json`, and page views counted per campaign per UTC day.

The count keeps nothing about the visitor: no address, no browser details, no cookie. Views
are added up in memory (`VisitCounter`) and written as one upsert per campaign and day when
`flush_seconds` have passed or `flush_views` views are waiting, so a page view does not
write to the database; a crash loses at most that batch (docs/advice.md).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from importlib import resources as package_files
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from hotline.advice import store
from hotline.advice.model import CampaignText, ResourceKind
from hotline.advice.tables import (
    CampaignRow,
    CampaignTextRow,
    CampaignVideoRow,
    CampaignVisitRow,
)
from hotline.advice.validation import (
    CAMPAIGN_SLUG_RE,
    CampaignForm,
    ResourceForm,
    validate_resource,
)
from hotline.db.base import utcnow
from hotline.db.engine import Database
from hotline.security import audit

SLUG_RE = CAMPAIGN_SLUG_RE
SEED_EDITOR = "seed"
_SEED = package_files.files("hotline.advice") / "seed" / "campaigns.json"


class CampaignNotFound(LookupError):
    """No campaign has that slug."""


@dataclass(frozen=True)
class Campaign:
    id: int
    slug: str
    partners: tuple[str, ...]
    starts_on: date
    ends_on: date | None
    is_example: bool
    texts: Mapping[str, CampaignText] = field(default_factory=dict)
    video_ids: tuple[int, ...] = ()
    position: int = 0
    published: bool = True


def _campaigns(session: Session, rows: list[CampaignRow]) -> list[Campaign]:
    ids = [row.id for row in rows]
    texts: dict[int, dict[str, CampaignText]] = {i: {} for i in ids}
    videos: dict[int, list[int]] = {i: [] for i in ids}
    if ids:
        for t in session.execute(
            select(CampaignTextRow).where(CampaignTextRow.campaign_id.in_(ids))
        ).scalars():
            texts[t.campaign_id][t.language] = CampaignText(t.title, t.summary)
        for campaign_id, resource_id in session.execute(
            select(CampaignVideoRow.campaign_id, CampaignVideoRow.resource_id).where(
                CampaignVideoRow.campaign_id.in_(ids)
            )
        ):
            videos[campaign_id].append(resource_id)
    return [
        Campaign(
            row.id,
            row.slug,
            tuple(line.strip() for line in row.partners.splitlines() if line.strip()),
            row.starts_on,
            row.ends_on,
            row.is_example,
            texts[row.id],
            tuple(sorted(videos[row.id])),
            row.position,
            row.published,
        )
        for row in rows
    ]


def list_campaigns(session: Session, *, published_only: bool = False) -> list[Campaign]:
    """Newest first (by start date), then by position; `published_only` for the public list."""
    query = select(CampaignRow).order_by(
        CampaignRow.starts_on.desc(), CampaignRow.position, CampaignRow.id
    )
    if published_only:
        query = query.where(CampaignRow.published.is_(True))
    return _campaigns(session, list(session.execute(query).scalars()))


def load_campaign(session: Session, slug: str) -> Campaign:
    """A published campaign by its address, for its public page; an unpublished one is not
    found, as if it did not exist."""
    if not SLUG_RE.match(slug):
        raise CampaignNotFound(slug)
    row = session.execute(
        select(CampaignRow).where(CampaignRow.slug == slug, CampaignRow.published.is_(True))
    ).scalar_one_or_none()
    if row is None:
        raise CampaignNotFound(slug)
    return _campaigns(session, [row])[0]


def get_campaign(session: Session, campaign_id: int) -> Campaign:
    row = session.get(CampaignRow, campaign_id)
    if row is None:
        raise CampaignNotFound(str(campaign_id))
    return _campaigns(session, [row])[0]


def slug_taken(session: Session, slug: str, other_than: int | None = None) -> bool:
    """Has another campaign this address?"""
    query = select(CampaignRow.id).where(CampaignRow.slug == slug)
    if other_than is not None:
        query = query.where(CampaignRow.id != other_than)
    return session.execute(query).first() is not None


def _facts(row: CampaignRow) -> tuple[object, ...]:
    return (row.slug, row.partners, row.starts_on, row.ends_on, row.is_example, row.position)


def _apply(row: CampaignRow, form: CampaignForm) -> None:
    row.slug = form.slug
    row.partners = "\n".join(form.partners)
    row.starts_on, row.ends_on = form.starts_on, form.ends_on
    row.is_example, row.position = form.is_example, form.position


def create_campaign(session: Session, form: CampaignForm, editor: str) -> Campaign:
    """Store a validated campaign with its texts and video links (the caller checked that the
    slug is free and the videos exist)."""
    row = CampaignRow(updated_at=utcnow(), updated_by=editor)
    _apply(row, form)
    session.add(row)
    session.flush()
    for lang, text in form.texts.items():
        session.add(
            CampaignTextRow(
                campaign_id=row.id, language=lang, title=text.title, summary=text.summary
            )
        )
    for resource_id in form.video_ids:
        session.add(CampaignVideoRow(campaign_id=row.id, resource_id=resource_id))
    session.flush()
    return get_campaign(session, row.id)


def update_campaign(
    session: Session,
    campaign_id: int,
    form: CampaignForm,
    languages: Collection[str],
    editor: str,
) -> list[str]:
    """Make a campaign equal the form: facts, texts in `languages` (a language left out is
    removed) and its videos. Returns what changed ('facts', language codes, 'videos')."""
    row = session.get(CampaignRow, campaign_id, with_for_update=True)
    if row is None:
        raise CampaignNotFound(str(campaign_id))
    changed: list[str] = []
    before = _facts(row)
    _apply(row, form)
    if _facts(row) != before:
        changed.append("facts")
    existing = {
        t.language: t
        for t in session.execute(
            select(CampaignTextRow).where(CampaignTextRow.campaign_id == campaign_id)
        ).scalars()
    }
    for lang in languages:
        current, text = existing.get(lang), form.texts.get(lang)
        if text is None:
            if current is not None:
                session.delete(current)
                changed.append(lang)
            continue
        if current is None:
            current = CampaignTextRow(campaign_id=campaign_id, language=lang)
            session.add(current)
        elif (current.title, current.summary) == (text.title, text.summary):
            continue
        current.title, current.summary = text.title, text.summary
        changed.append(lang)
    links = {
        link.resource_id: link
        for link in session.execute(
            select(CampaignVideoRow).where(CampaignVideoRow.campaign_id == campaign_id)
        ).scalars()
    }
    wanted = set(form.video_ids)
    for resource_id, link in links.items():
        if resource_id not in wanted:
            session.delete(link)
    for resource_id in wanted - set(links):
        session.add(CampaignVideoRow(campaign_id=campaign_id, resource_id=resource_id))
    if wanted != set(links):
        changed.append("videos")
    if changed:
        row.updated_at, row.updated_by = utcnow(), editor
    session.flush()
    return changed


def add_video(session: Session, campaign_id: int, resource_id: int) -> None:
    """List one more video on a campaign's page (nothing if it is listed already)."""
    found = session.get(CampaignVideoRow, (campaign_id, resource_id))
    if found is None:
        session.add(CampaignVideoRow(campaign_id=campaign_id, resource_id=resource_id))
        session.flush()


def set_published(session: Session, campaign_id: int, published: bool, editor: str) -> bool:
    """Publish or unpublish a campaign; returns whether its state changed."""
    row = session.get(CampaignRow, campaign_id, with_for_update=True)
    if row is None:
        raise CampaignNotFound(str(campaign_id))
    if row.published == published:
        return False
    row.published = published
    row.updated_at, row.updated_by = utcnow(), editor
    session.flush()
    return True


def delete_campaign(session: Session, campaign_id: int) -> int:
    """Delete a campaign with its texts, video links (the videos stay: they are resources of
    their own) and page views; returns how many views were stored. Deleted explicitly, not
    left to ON DELETE CASCADE, so nothing depends on the database enforcing foreign keys."""
    row = session.get(CampaignRow, campaign_id, with_for_update=True)
    if row is None:
        raise CampaignNotFound(str(campaign_id))
    views = session.execute(
        select(func.coalesce(func.sum(CampaignVisitRow.views), 0)).where(
            CampaignVisitRow.campaign_id == campaign_id
        )
    ).scalar_one()
    for table in (CampaignVisitRow, CampaignVideoRow, CampaignTextRow):
        session.execute(delete(table).where(table.campaign_id == campaign_id))
    session.delete(row)
    session.flush()
    return int(views)


# Visits ------------------------------------------------------------------------------------


class VisitCounter:
    """Page views waiting to be written, by (campaign id, UTC day); one per process."""

    def __init__(self, flush_seconds: float = 60.0, flush_views: int = 100) -> None:
        self.flush_seconds = flush_seconds
        self.flush_views = flush_views
        self._pending: dict[tuple[int, date], int] = {}
        self._waiting = 0
        self._last_flush = time.monotonic()
        self._lock = threading.Lock()

    def hit(self, db: Database, campaign_id: int) -> None:
        """Count one view; write the batch if it is due."""
        with self._lock:
            key = (campaign_id, utcnow().date())
            self._pending[key] = self._pending.get(key, 0) + 1
            self._waiting += 1
            due = (
                self._waiting >= self.flush_views
                or time.monotonic() - self._last_flush >= self.flush_seconds
            )
        if due:
            self.flush(db)

    def flush(self, db: Database) -> int:
        """Write every waiting count (one upsert per campaign and day); returns views written."""
        with self._lock:
            batch, self._pending, self._waiting = self._pending, {}, 0
            self._last_flush = time.monotonic()
        if not batch:
            return 0
        try:
            with db.write() as session:
                # Views of a campaign deleted since (in another process) go with it.
                ids = {campaign_id for campaign_id, _day in batch}
                kept = set(
                    session.execute(select(CampaignRow.id).where(CampaignRow.id.in_(ids))).scalars()
                )
                written = 0
                for (campaign_id, day), views in sorted(batch.items()):
                    if campaign_id in kept:
                        _add_views(session, campaign_id, day, views)
                        written += views
        except Exception:
            with self._lock:  # keep them for the next flush rather than lose them
                for key, views in batch.items():
                    self._pending[key] = self._pending.get(key, 0) + views
                    self._waiting += views
            raise
        return written


def _add_views(session: Session, campaign_id: int, day: date, views: int) -> None:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = CampaignVisitRow.__table__
    stmt = insert(CampaignVisitRow).values(campaign_id=campaign_id, day=day, views=views)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=[table.c.campaign_id, table.c.day],
            set_={"views": table.c.views + stmt.excluded.views},
        )
    )


@dataclass(frozen=True)
class VisitTotals:
    total: int
    last_30_days: int


def visit_totals(session: Session, today: date | None = None) -> dict[int, VisitTotals]:
    """Views per campaign: all time and the last 30 days (today included)."""
    since = (today or utcnow().date()) - timedelta(days=29)
    totals = dict(
        session.execute(
            select(CampaignVisitRow.campaign_id, func.sum(CampaignVisitRow.views)).group_by(
                CampaignVisitRow.campaign_id
            )
        ).all()
    )
    recent_totals = dict(
        session.execute(
            select(CampaignVisitRow.campaign_id, func.sum(CampaignVisitRow.views))
            .where(CampaignVisitRow.day >= since)
            .group_by(CampaignVisitRow.campaign_id)
        ).all()
    )
    return {
        campaign_id: VisitTotals(int(total), int(recent_totals.get(campaign_id, 0)))
        for campaign_id, total in totals.items()
    }


# Seed --------------------------------------------------------------------------------------


def _seed_data() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(_SEED.read_text(encoding="utf-8"))["campaigns"]
    return data


def _video_form(entry: dict[str, Any], position: int) -> ResourceForm:
    form = {
        "url": entry["url"],
        "position": str(position),
        "media_language": entry["media_language"],
        "is_example": "on",
        "category": "",
        "country": "",
        "phone": "",
    }
    for lang, text in entry["texts"].items():
        form[f"title_{lang}"] = text["title"]
        form[f"summary_{lang}"] = text["summary"]
    checked = validate_resource(ResourceKind.video, form, list(entry["texts"]))
    if not isinstance(checked, ResourceForm):
        raise ValueError(f"seed video {entry['slug']} is invalid: {sorted(checked)}")
    return checked


def seed_campaigns(session: Session) -> int:
    """Add the demo campaigns (and their videos) not yet present; returns how many were added.
    Idempotent by slug: an existing campaign is left alone."""
    added = 0
    for position, entry in enumerate(_seed_data()):
        if not SLUG_RE.match(entry["slug"]):
            raise ValueError(f"seed campaign slug {entry['slug']!r} is not a valid slug")
        exists = session.execute(
            select(CampaignRow.id).where(CampaignRow.slug == entry["slug"])
        ).first()
        if exists:
            continue
        row = CampaignRow(
            slug=entry["slug"],
            partners="\n".join(entry["partners"]),
            starts_on=date.fromisoformat(entry["starts_on"]),
            ends_on=date.fromisoformat(entry["ends_on"]) if entry.get("ends_on") else None,
            is_example=True,
            position=position * 10,
            updated_at=utcnow(),
            updated_by=SEED_EDITOR,
        )
        session.add(row)
        session.flush()
        for lang, text in entry["texts"].items():
            session.add(
                CampaignTextRow(
                    campaign_id=row.id, language=lang, title=text["title"], summary=text["summary"]
                )
            )
        for video_position, video in enumerate(entry["videos"]):
            if store.slug_exists(session, video["slug"]):
                continue
            form = _video_form(video, 1000 + position * 10 + video_position)
            resource = store.create_resource(
                session, form.facts, form.texts, SEED_EDITOR, slug=video["slug"]
            )
            session.add(CampaignVideoRow(campaign_id=row.id, resource_id=resource.id))
        added += 1
    if added:
        audit.record(
            session, audit.SYSTEM, "advice.seed", "advice", "campaigns", {"campaigns_added": added}
        )
    return added

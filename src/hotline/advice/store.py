"""Reading and writing advice in the database; rows become domain objects here and nowhere
else. Functions take the caller's session so an edit and its audit entry commit together."""

from __future__ import annotations

import re
import secrets
from collections.abc import Collection, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.advice.model import (
    AgeBand,
    AgeGuide,
    GuideText,
    LinkCategory,
    Resource,
    ResourceFacts,
    ResourceKind,
    ResourceText,
)
from hotline.advice.tables import AgeGuideRow, ResourceRow, ResourceTextRow
from hotline.db.base import utcnow


class NotFound(LookupError):
    """No such advice item."""


# Guides ------------------------------------------------------------------------------------


def load_guides(session: Session) -> dict[AgeBand, AgeGuide]:
    """Every age band, in band order, each with whatever languages it has (maybe none)."""
    texts: dict[AgeBand, dict[str, GuideText]] = {band: {} for band in AgeBand}
    for row in session.execute(select(AgeGuideRow)).scalars():
        if row.age_band in AgeBand.__members__.values():
            texts[AgeBand(row.age_band)][row.language] = GuideText(
                row.title, row.summary, row.body_md
            )
    return {band: AgeGuide(band, texts[band]) for band in AgeBand}


def load_guide(session: Session, band: AgeBand) -> AgeGuide:
    rows = session.execute(select(AgeGuideRow).where(AgeGuideRow.age_band == band.value))
    return AgeGuide(
        band, {r.language: GuideText(r.title, r.summary, r.body_md) for r in rows.scalars()}
    )


def save_guide(
    session: Session,
    band: AgeBand,
    texts: Mapping[str, GuideText],
    languages: Collection[str],
    editor: str,
) -> list[str]:
    """Make the band's texts in `languages` equal `texts` (a language left out is removed).
    Returns the languages that changed."""
    existing = {
        r.language: r
        for r in session.execute(
            select(AgeGuideRow).where(AgeGuideRow.age_band == band.value)
        ).scalars()
    }
    changed: list[str] = []
    now = utcnow()
    for lang in languages:
        row, text = existing.get(lang), texts.get(lang)
        if text is None:
            if row is not None:
                session.delete(row)
                changed.append(lang)
            continue
        if row is None:
            row = AgeGuideRow(age_band=band.value, language=lang)
            session.add(row)
        elif (row.title, row.summary, row.body_md) == (text.title, text.summary, text.body_md):
            continue
        row.title, row.summary, row.body_md = text.title, text.summary, text.body_md
        row.updated_at, row.updated_by = now, editor
        changed.append(lang)
    session.flush()
    return changed


# Resources ---------------------------------------------------------------------------------


def _load_texts(session: Session, rows: list[ResourceRow]) -> dict[int, list[ResourceTextRow]]:
    ids = [r.id for r in rows]
    by_id: dict[int, list[ResourceTextRow]] = {i: [] for i in ids}
    if ids:
        found = select(ResourceTextRow).where(ResourceTextRow.resource_id.in_(ids))
        for t in session.execute(found).scalars():
            by_id[t.resource_id].append(t)
    return by_id


def list_resources(session: Session, kind: ResourceKind | None = None) -> list[Resource]:
    query = select(ResourceRow).order_by(ResourceRow.position, ResourceRow.id)
    if kind is not None:
        query = query.where(ResourceRow.kind == kind.value)
    rows = list(session.execute(query).scalars())
    texts = _load_texts(session, rows)
    return [_with_texts(row, texts[row.id]) for row in rows]


def _with_texts(row: ResourceRow, texts: list[ResourceTextRow]) -> Resource:
    resource = _resource_facts_only(row)
    return Resource(
        resource.id,
        resource.slug,
        resource.facts,
        {t.language: ResourceText(t.title, t.summary) for t in texts},
    )


def _resource_facts_only(row: ResourceRow) -> Resource:
    facts = ResourceFacts(
        kind=ResourceKind(row.kind),
        url=row.url,
        category=LinkCategory(row.category) if row.category else None,
        country=row.country,
        phone=row.phone,
        media_language=row.media_language,
        is_example=row.is_example,
        position=row.position,
    )
    return Resource(row.id, row.slug, facts, {})


def get_resource(session: Session, resource_id: int) -> Resource:
    row = session.get(ResourceRow, resource_id)
    if row is None:
        raise NotFound(resource_id)
    return _with_texts(row, _load_texts(session, [row])[row.id])


def slug_exists(session: Session, slug: str) -> bool:
    found = session.execute(select(ResourceRow.id).where(ResourceRow.slug == slug)).first()
    return found is not None


def new_slug(kind: ResourceKind, title: str) -> str:
    """A readable, unique-enough key for an editor-made resource: kind, title words, random."""
    words = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40].strip("-")
    return f"{kind.value}-{words or 'item'}-{secrets.token_hex(3)}"


def _apply_facts(row: ResourceRow, facts: ResourceFacts) -> None:
    row.kind = facts.kind.value
    row.url = facts.url
    row.category = facts.category.value if facts.category else None
    row.country = facts.country
    row.phone = facts.phone
    row.media_language = facts.media_language
    row.is_example = facts.is_example
    row.position = facts.position


def create_resource(
    session: Session,
    facts: ResourceFacts,
    texts: Mapping[str, ResourceText],
    editor: str,
    slug: str | None = None,
) -> Resource:
    english = next(iter(texts.values())).title if texts else ""
    row = ResourceRow(slug=slug or new_slug(facts.kind, english))
    _apply_facts(row, facts)
    row.updated_at, row.updated_by = utcnow(), editor
    session.add(row)
    session.flush()
    for lang, text in texts.items():
        session.add(
            ResourceTextRow(
                resource_id=row.id, language=lang, title=text.title, summary=text.summary
            )
        )
    session.flush()
    return get_resource(session, row.id)


def update_resource(
    session: Session,
    resource_id: int,
    facts: ResourceFacts,
    texts: Mapping[str, ResourceText],
    languages: Collection[str],
    editor: str,
) -> list[str]:
    """Replace a resource's facts and its texts in `languages`; returns what changed
    ('facts' and/or language codes)."""
    row = session.get(ResourceRow, resource_id, with_for_update=True)
    if row is None or row.kind != facts.kind.value:
        raise NotFound(resource_id)
    changed: list[str] = []
    if _resource_facts_only(row).facts != facts:
        _apply_facts(row, facts)
        changed.append("facts")
    existing = {t.language: t for t in _load_texts(session, [row])[row.id]}
    for lang in languages:
        current, text = existing.get(lang), texts.get(lang)
        if text is None:
            if current is not None:
                session.delete(current)
                changed.append(lang)
            continue
        if current is None:
            current = ResourceTextRow(resource_id=row.id, language=lang)
            session.add(current)
        elif (current.title, current.summary) == (text.title, text.summary):
            continue
        current.title, current.summary = text.title, text.summary
        changed.append(lang)
    if changed:
        row.updated_at, row.updated_by = utcnow(), editor
    session.flush()
    return changed


def delete_resource(session: Session, resource_id: int) -> None:
    """Remove a resource and its texts. The seed re-adds a deleted seed item only if run
    again (demo start-up); see docs/advice.md."""
    row = session.get(ResourceRow, resource_id, with_for_update=True)
    if row is None:
        raise NotFound(resource_id)
    for text in _load_texts(session, [row])[row.id]:
        session.delete(text)
    session.flush()  # texts first: no ORM relationship tells the flush the order
    session.delete(row)
    session.flush()

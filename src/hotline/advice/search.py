"""Search over the advice hub: age guides (title, summary, body) and resources (title,
summary), in every language. The tables are small (tens of rows), so a plain SQL LIKE is
enough and is the same on SQLite and PostgreSQL (case-insensitive through lower(); SQLite's
lower() folds ASCII letters only, so 'É' matches 'É' but not 'é')."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from hotline.advice.model import AgeBand, ResourceKind
from hotline.advice.tables import AgeGuideRow, ResourceRow, ResourceTextRow
from hotline.errors import N_, FieldError, InvalidInput

MAX_QUERY = 100  # the messages below say 100 and 2
MIN_QUERY = 2
MAX_HITS = 50

_PAGES = {
    ResourceKind.video: "/advice/videos",
    ResourceKind.link: "/advice/links",
    ResourceKind.helpline: "/advice/help",
}


@dataclass(frozen=True)
class Hits:
    """What matched: age bands, and resource ids (texts are chosen for the reader later)."""

    bands: list[AgeBand]
    resource_ids: list[int]


def clean_query(text: str) -> str:
    """The query as searched: spaces collapsed; raises for one too long or too short."""
    query = " ".join(text.split())
    if len(query) > MAX_QUERY:
        raise InvalidInput(
            N_("a search can be at most 100 characters"),
            fields=[FieldError("q", N_("use at most 100 characters"))],
        )
    if query and len(query) < MIN_QUERY:
        raise InvalidInput(
            N_("a search needs at least 2 characters"),
            fields=[FieldError("q", N_("use at least 2 characters"))],
        )
    return query


def _pattern(query: str) -> str:
    escaped = query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search(session: Session, query: str) -> Hits:
    """Every guide and resource whose text in any language contains `query` (already cleaned)."""
    pattern = _pattern(query)

    def like(column):  # type: ignore[no-untyped-def]
        return func.lower(column).like(pattern, escape="\\")

    band_values = session.execute(
        select(AgeGuideRow.age_band)
        .where(or_(like(AgeGuideRow.title), like(AgeGuideRow.summary), like(AgeGuideRow.body_md)))
        .distinct()
    ).scalars()
    found = set(band_values)
    bands = [band for band in AgeBand if band.value in found]
    resource_ids = list(
        session.execute(
            select(ResourceRow.id)
            .join(ResourceTextRow, ResourceTextRow.resource_id == ResourceRow.id)
            .where(or_(like(ResourceTextRow.title), like(ResourceTextRow.summary)))
            .group_by(ResourceRow.id, ResourceRow.kind, ResourceRow.position)
            .order_by(ResourceRow.kind, ResourceRow.position, ResourceRow.id)
            .limit(MAX_HITS)
        ).scalars()
    )
    return Hits(bands, resource_ids)


def page_for(kind: ResourceKind) -> str:
    return _PAGES[kind]

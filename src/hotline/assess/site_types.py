"""Site types and hosting (free or paid), recorded with a URL's verdict for the published
figures (docs/statistics.md). The list of site types is data, in `site_types`, seeded by
migration 0022 and editable there (add a row, or set `active` false to retire one: verdicts
that named it keep their code); labels in both languages come with each row."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Boolean, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from hotline.db.base import Base
from hotline.errors import N_, FieldError

HOSTING = ("free", "paid")  # blank: not known
# The list migration 0022 seeds (it keeps its own copy, as migrations do).
DEFAULTS = (
    ("image_host", "Image host", "Hébergeur d'images"),
    ("cyberlocker", "Cyberlocker", "Cyberlocker"),
    ("forum", "Forum", "Forum"),
    ("website", "Website", "Site web"),
    ("image_board", "Image board", "Image board"),
    ("social_network", "Social network", "Réseau social"),
    ("search_result", "Search result", "Résultat de recherche"),
    ("other", "Other", "Autre"),
)


class SiteTypeRow(Base):
    __tablename__ = "site_types"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    label_en: Mapped[str] = mapped_column(String(64))
    label_fr: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean)


@dataclass(frozen=True)
class SiteType:
    code: str
    label_en: str
    label_fr: str

    def label(self, locale: str) -> str:
        return self.label_fr if locale == "fr" else self.label_en


def active_site_types(session: Session) -> list[SiteType]:
    rows = session.execute(
        select(SiteTypeRow).where(SiteTypeRow.active).order_by(SiteTypeRow.position)
    ).scalars()
    return [SiteType(r.code, r.label_en, r.label_fr) for r in rows]


def seed_defaults(session: Session) -> None:
    """Put the default list back into an empty table (a database emptied by hand, tests)."""
    if session.execute(select(SiteTypeRow.code).limit(1)).first() is None:
        for position, (code, en, fr) in enumerate(DEFAULTS):
            session.add(SiteTypeRow(code=code, label_en=en, label_fr=fr, position=position,
                                    active=True))  # fmt: skip
        session.flush()


def validate(
    session: Session, site_type: str | None, hosting: str | None, errors: list[FieldError]
) -> tuple[str | None, str | None]:
    """Blank means not recorded; anything else must be an active site type / free or paid."""
    site = (site_type or "").strip() or None
    paid = (hosting or "").strip() or None
    if site is not None and site not in {t.code for t in active_site_types(session)}:
        errors.append(FieldError("site_type", N_("choose one of the listed site types")))
    if paid is not None and paid not in HOSTING:
        errors.append(FieldError("hosting", N_("must be free, paid or left blank")))
    return site, paid


def labels(session: Session, locale: str) -> dict[str, str]:
    """Every site type's label, retired ones too (figures of past years name them)."""
    rows = session.execute(select(SiteTypeRow)).scalars()
    return {r.code: (r.label_fr if locale == "fr" else r.label_en) for r in rows}

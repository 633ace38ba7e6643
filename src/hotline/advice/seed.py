"""Seed content for the hub, in English and French: `seed_advice(db)`.

Idempotent: a guide (band, language) or resource (slug) that already exists is left alone,
so running it again adds nothing and never overwrites an editor's changes. Seed content goes
through the same validation as the editor forms.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources as package_files
from typing import Any

from sqlalchemy import select

from hotline.advice import campaigns, store
from hotline.advice.model import AgeBand, GuideText, ResourceKind
from hotline.advice.tables import AgeGuideRow
from hotline.advice.validation import GuideForm, ResourceForm, validate_guide, validate_resource
from hotline.db.engine import Database
from hotline.security import audit

SEED_EDITOR = "seed"
_SEED = package_files.files("hotline.advice") / "seed"
_KIND_SECTIONS = {
    "videos": ResourceKind.video,
    "links": ResourceKind.link,
    "helplines": ResourceKind.helpline,
}


class SeedError(ValueError):
    """Seed content that the editor's rules would refuse."""


@dataclass(frozen=True)
class SeedResult:
    guides_added: int
    resources_added: int


def _parse_guide_file(text: str) -> GuideText:
    """`title:` and `summary:` header lines, a blank line, then the Markdown body."""
    header, _, body = text.partition("\n\n")
    fields = dict(line.split(": ", 1) for line in header.splitlines())
    return GuideText(fields["title"].strip(), fields["summary"].strip(), body.strip())


def seed_guides() -> dict[AgeBand, dict[str, GuideText]]:
    guides: dict[AgeBand, dict[str, GuideText]] = {band: {} for band in AgeBand}
    for entry in (_SEED / "guides").iterdir():
        band_name, _, rest = entry.name.partition(".")
        lang = rest.removesuffix(".md")
        guides[AgeBand(band_name)][lang] = _parse_guide_file(entry.read_text(encoding="utf-8"))
    for band, texts in guides.items():
        form = {
            f"{f}_{lang}": getattr(t, f if f != "body" else "body_md")
            for lang, t in texts.items()
            for f in ("title", "summary", "body")
        }
        if not isinstance(validate_guide(form, list(texts)), GuideForm):
            raise SeedError(f"seed guide {band} does not pass validation")
    return guides


def seed_resources() -> list[tuple[str, ResourceForm]]:
    data: dict[str, Any] = json.loads((_SEED / "resources.json").read_text(encoding="utf-8"))
    items: list[tuple[str, ResourceForm]] = []
    for section, kind in _KIND_SECTIONS.items():
        for position, entry in enumerate(data[section]):
            form: dict[str, str] = {
                "url": entry["url"],
                "position": str(position * 10),
                "category": entry.get("category", ""),
                "country": entry.get("country", ""),
                "phone": entry.get("phone", ""),
                "media_language": entry.get("media_language", ""),
                "is_example": "on" if entry.get("is_example") else "",
            }
            for lang, text in entry["texts"].items():
                form[f"title_{lang}"] = text["title"]
                form[f"summary_{lang}"] = text["summary"]
            checked = validate_resource(kind, form, list(entry["texts"]))
            if not isinstance(checked, ResourceForm):
                raise SeedError(f"seed resource {entry['slug']} is invalid: {sorted(checked)}")
            items.append((entry["slug"], checked))
    return items


def seed_advice(db: Database) -> SeedResult:
    """Add any seed guides and resources not yet in the database; audited as one entry."""
    guides = seed_guides()
    resources = seed_resources()
    with db.write() as session:
        present = set(session.execute(select(AgeGuideRow.age_band, AgeGuideRow.language)))
        guides_added = 0
        for band, texts in guides.items():
            missing = {lang: t for lang, t in texts.items() if (band.value, lang) not in present}
            if missing:
                store.save_guide(session, band, missing, list(missing), SEED_EDITOR)
                guides_added += len(missing)
        resources_added = 0
        for slug, form in resources:
            if not store.slug_exists(session, slug):
                store.create_resource(session, form.facts, form.texts, SEED_EDITOR, slug=slug)
                resources_added += 1
        # The demo campaigns and their videos (hotline.advice.campaigns); idempotent too.
        campaigns.seed_campaigns(session)
        if guides_added or resources_added:
            audit.record(
                session,
                audit.SYSTEM,
                "advice.seed",
                "advice",
                "seed",
                {"guides_added": guides_added, "resources_added": resources_added},
            )
    return SeedResult(guides_added, resources_added)

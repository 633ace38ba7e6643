"""The advice hub's domain: age bands, resources and the language-fallback rule.

Nothing here knows about HTTP or the ORM; the store converts rows to these dataclasses.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Generic, TypeVar

T = TypeVar("T")

SOURCE_LANGUAGE = "en"  # every item has English text, so a fallback always exists


def N_(message: str) -> str:
    """Marks a message for extraction; the page translates it when shown."""
    return message


class AgeBand(StrEnum):
    under_5 = "under-5"
    age_5_7 = "5-7"
    age_8_10 = "8-10"
    age_11_13 = "11-13"
    age_14_17 = "14-17"

    @property
    def label(self) -> str:
        return AGE_BAND_LABELS[self]


AGE_BAND_LABELS: dict[AgeBand, str] = {
    AgeBand.under_5: N_("Under 5"),
    AgeBand.age_5_7: N_("Ages 5 to 7"),
    AgeBand.age_8_10: N_("Ages 8 to 10"),
    AgeBand.age_11_13: N_("Ages 11 to 13"),
    AgeBand.age_14_17: N_("Ages 14 to 17"),
}


class ResourceKind(StrEnum):
    video = "video"
    link = "link"
    helpline = "helpline"


class LinkCategory(StrEnum):
    government = "government"
    charity = "charity"


LINK_CATEGORY_LABELS: dict[LinkCategory, str] = {
    LinkCategory.government: N_("Government advice"),
    LinkCategory.charity: N_("Charity advice"),
}


@dataclass(frozen=True)
class GuideText:
    title: str
    summary: str
    body_md: str


@dataclass(frozen=True)
class AgeGuide:
    """One age band's advice, in every language it has been written in."""

    band: AgeBand
    texts: Mapping[str, GuideText]


@dataclass(frozen=True)
class ResourceText:
    title: str
    summary: str


@dataclass(frozen=True)
class ResourceFacts:
    """What a resource is, whatever the language: where it points and how to file it."""

    kind: ResourceKind
    url: str
    category: LinkCategory | None = None
    country: str | None = None
    phone: str | None = None
    media_language: str | None = None
    is_example: bool = False
    position: int = 0


@dataclass(frozen=True)
class Resource:
    id: int
    slug: str
    facts: ResourceFacts
    texts: Mapping[str, ResourceText] = field(default_factory=dict)

    @property
    def kind(self) -> ResourceKind:
        return self.facts.kind


@dataclass(frozen=True)
class CampaignText:
    """A campaign's title and summary in one language."""

    title: str
    summary: str


@dataclass(frozen=True)
class Localised(Generic[T]):
    """A text chosen for the reader: `language` is what it is written in, and `fallback` says
    the reader asked for another language that has no translation yet."""

    value: T
    language: str
    fallback: bool


def pick_text(texts: Mapping[str, T], locale: str) -> Localised[T] | None:
    """The reader's language if written, else the source language (marked as a fallback)."""
    if locale in texts:
        return Localised(texts[locale], locale, fallback=False)
    if SOURCE_LANGUAGE in texts:
        return Localised(texts[SOURCE_LANGUAGE], SOURCE_LANGUAGE, fallback=True)
    return None


def tel_uri(phone: str) -> str:
    """'0800 1111' -> 'tel:08001111'; keeps a leading + for international numbers."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    return "tel:" + ("+" if phone.strip().startswith("+") else "") + digits


def sort_key(name: str) -> str:
    """Alphabetical as readers expect: 'États-Unis' sorts under E, not after Z."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))

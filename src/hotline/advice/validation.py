"""Checks on everything an editor submits, with one message per field.

A form either validates completely (and is saved in one transaction) or comes back with its
errors; nothing is ever half-saved. Messages are English message ids marked with N_ and
translated when the form is shown again.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from babel import Locale

from hotline.advice.model import (
    N_,
    SOURCE_LANGUAGE,
    CampaignText,
    GuideText,
    LinkCategory,
    ResourceFacts,
    ResourceKind,
    ResourceText,
)

TITLE_MAX = 120
GUIDE_SUMMARY_MAX = 300
RESOURCE_SUMMARY_MAX = 500
BODY_MAX = 20_000
URL_MAX = 500
PHONE_MAX = 32
POSITION_MAX = 9999
PARTNER_MAX = 120  # one partner's name
PARTNERS_MAX = 30  # partners of one campaign
CAMPAIGN_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")

_PHONE_RE = re.compile(r"^\+?[0-9(][0-9 ().-]*[0-9]$")
# Letter codes only (numeric ones such as 001 are regions), less groupings and pseudo-codes.
_NOT_COUNTRIES = {"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ"}
COUNTRY_CODES: frozenset[str] = frozenset(
    str(code)
    for code in Locale.parse("en").territories
    if len(str(code)) == 2 and str(code).isalpha() and code not in _NOT_COUNTRIES
)


@dataclass(frozen=True)
class FieldError:
    message: str
    params: Mapping[str, Any] = field(default_factory=dict)


Errors = dict[str, FieldError]


@dataclass(frozen=True)
class GuideForm:
    texts: dict[str, GuideText]


@dataclass(frozen=True)
class ResourceForm:
    facts: ResourceFacts
    texts: dict[str, ResourceText]


@dataclass(frozen=True)
class CampaignForm:
    slug: str
    partners: tuple[str, ...]
    starts_on: date
    ends_on: date | None
    is_example: bool
    position: int
    texts: dict[str, CampaignText]
    video_ids: tuple[int, ...]


def version_of(values: Mapping[str, str]) -> str:
    """A digest of what the editor was shown. Saving checks it is still current, so one
    editor never silently overwrites another's newer change (the form says so instead)."""
    canonical = json.dumps(dict(values), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def _clean(value: str | None) -> str:
    # Normalise line endings so length limits count what is stored.
    return (value or "").replace("\r\n", "\n").strip()


def _has_control_chars(value: str, *, multiline: bool) -> bool:
    allowed = {"\n", "\t"} if multiline else set()
    return any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in value)


def _text(
    form: Mapping[str, str],
    name: str,
    errors: Errors,
    *,
    maximum: int,
    required: bool = True,
    multiline: bool = False,
) -> str:
    value = _clean(form.get(name))
    if not value:
        if required:
            errors[name] = FieldError(N_("This field is required."))
    elif len(value) > maximum:
        errors[name] = FieldError(
            N_("Use at most %(max)s characters (this has %(count)s)."),
            {"max": maximum, "count": len(value)},
        )
    elif _has_control_chars(value, multiline=multiline):
        errors[name] = FieldError(N_("Remove the control characters from this field."))
    return value


def check_url(value: str) -> FieldError | None:
    if len(value) > URL_MAX:
        return FieldError(N_("Use at most %(max)s characters."), {"max": URL_MAX})
    if any(ch.isspace() or unicodedata.category(ch) == "Cc" for ch in value):
        return FieldError(N_("A web address cannot contain spaces."))
    try:
        parts = urlsplit(value)
        hostname = parts.hostname
    except ValueError:
        return FieldError(N_("Enter a full web address starting with https:// or http://."))
    if parts.scheme.lower() not in ("http", "https") or not hostname:
        return FieldError(N_("Enter a full web address starting with https:// or http://."))
    if parts.username is not None or parts.password is not None:
        return FieldError(N_("A web address cannot contain a user name or password."))
    return None


def check_phone(value: str) -> FieldError | None:
    digits = sum(ch.isdigit() for ch in value)
    if len(value) > PHONE_MAX or not _PHONE_RE.match(value) or not 3 <= digits <= 15:
        return FieldError(
            N_(
                "Enter a phone number using digits, spaces, brackets, dots or hyphens, "
                "with an optional leading +, e.g. +44 800 1111."
            )
        )
    return None


def _position(form: Mapping[str, str], errors: Errors) -> int:
    raw = _clean(form.get("position"))
    if not raw:
        return 0
    if raw.isascii() and raw.isdigit() and int(raw) <= POSITION_MAX:
        return int(raw)
    errors["position"] = FieldError(
        N_("Enter a whole number from 0 to %(max)s."), {"max": POSITION_MAX}
    )
    return 0


def _date(form: Mapping[str, str], name: str, errors: Errors, *, required: bool) -> date | None:
    raw = _clean(form.get(name))
    if not raw:
        if required:
            errors[name] = FieldError(N_("This field is required."))
        return None
    try:
        if not _DATE_RE.match(raw):
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        errors[name] = FieldError(N_("Enter a date as year-month-day, e.g. 2026-03-02."))
        return None


def _partners(form: Mapping[str, str], errors: Errors) -> tuple[str, ...]:
    raw = _clean(form.get("partners"))
    names = tuple(line.strip() for line in raw.splitlines() if line.strip())
    if len(names) > PARTNERS_MAX:
        errors["partners"] = FieldError(
            N_("List at most %(max)s partners (this has %(count)s)."),
            {"max": PARTNERS_MAX, "count": len(names)},
        )
    elif any(len(name) > PARTNER_MAX for name in names):
        errors["partners"] = FieldError(
            N_("Each partner's name can be at most %(max)s characters."), {"max": PARTNER_MAX}
        )
    elif any(_has_control_chars(name, multiline=False) for name in names):
        errors["partners"] = FieldError(N_("Remove the control characters from this field."))
    return names


def _languages_texts(
    form: Mapping[str, str],
    languages: Collection[str],
    fields: Mapping[str, tuple[int, bool]],
    errors: Errors,
) -> dict[str, dict[str, str]]:
    """Per-language text fields `<field>_<lang>`. English is required; another language is
    either left wholly empty (no translation yet) or filled in completely."""
    texts: dict[str, dict[str, str]] = {}
    for lang in languages:
        names = {f: f"{f}_{lang}" for f in fields}
        if lang != SOURCE_LANGUAGE and not any(_clean(form.get(n)) for n in names.values()):
            continue
        values = {
            f: _text(form, names[f], errors, maximum=maximum, multiline=multiline)
            for f, (maximum, multiline) in fields.items()
        }
        texts[lang] = values
    return texts


def validate_guide(form: Mapping[str, str], languages: Collection[str]) -> GuideForm | Errors:
    errors: Errors = {}
    raw = _languages_texts(
        form,
        languages,
        {
            "title": (TITLE_MAX, False),
            "summary": (GUIDE_SUMMARY_MAX, True),
            "body": (BODY_MAX, True),
        },
        errors,
    )
    if errors:
        return errors
    return GuideForm(
        {lang: GuideText(v["title"], v["summary"], v["body"]) for lang, v in raw.items()}
    )


def validate_resource(
    kind: ResourceKind, form: Mapping[str, str], languages: Collection[str]
) -> ResourceForm | Errors:
    errors: Errors = {}
    url = _text(form, "url", errors, maximum=URL_MAX)
    if url and "url" not in errors and (problem := check_url(url)):
        errors["url"] = problem

    position = _position(form, errors)
    category: LinkCategory | None = None
    country: str | None = None
    phone: str | None = None
    media_language: str | None = None
    if kind is ResourceKind.link:
        raw_category = _clean(form.get("category"))
        if raw_category in LinkCategory.__members__.values():
            category = LinkCategory(raw_category)
        else:
            errors["category"] = FieldError(N_("Choose government or charity."))
    elif kind is ResourceKind.helpline:
        country = _clean(form.get("country")).upper()
        if country not in COUNTRY_CODES:
            errors["country"] = FieldError(N_("Choose a country."))
        phone = _clean(form.get("phone")) or None
        if phone is not None and (problem := check_phone(phone)):
            errors["phone"] = problem
    elif kind is ResourceKind.video:
        media_language = _clean(form.get("media_language"))
        if media_language not in languages:
            errors["media_language"] = FieldError(N_("Choose the language the video is in."))

    raw = _languages_texts(
        form,
        languages,
        {"title": (TITLE_MAX, False), "summary": (RESOURCE_SUMMARY_MAX, True)},
        errors,
    )
    if errors:
        return errors
    facts = ResourceFacts(
        kind=kind,
        url=url,
        category=category,
        country=country,
        phone=phone,
        media_language=media_language,
        is_example=form.get("is_example") in ("on", "1", "true"),
        position=position,
    )
    texts = {lang: ResourceText(v["title"], v["summary"]) for lang, v in raw.items()}
    return ResourceForm(facts, texts)


def validate_campaign(
    form: Mapping[str, str], video_ids: Sequence[str], languages: Collection[str]
) -> CampaignForm | Errors:
    """A campaign's form: its address (slug), partners one per line, dates (year-month-day; no
    end while it runs, else not before the start), position, the example mark, a title and
    summary per language, and the ids of its videos (whether they exist is the caller's
    check)."""
    errors: Errors = {}
    slug = _clean(form.get("slug")).lower()
    if not slug:
        errors["slug"] = FieldError(N_("This field is required."))
    elif not CAMPAIGN_SLUG_RE.match(slug):
        errors["slug"] = FieldError(
            N_(
                "Use lower-case letters, digits and hyphens, starting with a letter or digit, "
                "at most 64 characters."
            )
        )
    partners = _partners(form, errors)
    starts_on = _date(form, "starts_on", errors, required=True)
    ends_on = _date(form, "ends_on", errors, required=False)
    if starts_on and ends_on and ends_on < starts_on:
        errors["ends_on"] = FieldError(N_("The end date cannot be before the start date."))
    position = _position(form, errors)
    videos: list[int] = []
    for raw_id in video_ids:
        if not (raw_id.isascii() and raw_id.isdigit()) or len(raw_id) > 12:
            errors["videos"] = FieldError(N_("Choose the campaign's videos from the list."))
            break
        videos.append(int(raw_id))
    raw = _languages_texts(
        form,
        languages,
        {"title": (TITLE_MAX, False), "summary": (RESOURCE_SUMMARY_MAX, True)},
        errors,
    )
    if errors or starts_on is None:
        return errors
    return CampaignForm(
        slug=slug,
        partners=partners,
        starts_on=starts_on,
        ends_on=ends_on,
        is_example=form.get("is_example") in ("on", "1", "true"),
        position=position,
        texts={lang: CampaignText(v["title"], v["summary"]) for lang, v in raw.items()},
        video_ids=tuple(sorted(set(videos))),
    )

"""What a hosting provider entry is and what it may hold. Pure rules: no HTTP, no ORM.

Every check reports a `Problem` (field, message id, parameters) instead of stopping at the
first one, so a form shows every error next to its field and a CSV import names every bad
row and column. Messages are English message ids marked with N_ and translated when shown.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from hotline.assess.fetch_errors import FetchError
from hotline.assess.hosting import clean_email
from hotline.assess.netguard import parse_target
from hotline.errors import N_, FieldError, InvalidInput, Message
from hotline.intake.reports import COUNTRIES

NAME_MAX = 200
NOTES_MAX = 2000
ASN_MAX = 4_294_967_295  # 32-bit AS numbers (RFC 6793); 0 is reserved
LIST_MAX = 500  # AS numbers or countries on one entry: more is a data error, not a host
SECRET_MIN, SECRET_MAX = 16, 256
# Languages a notice may be asked for; notice_text writes those it has and falls back to English.
LANGUAGES: dict[str, str] = {
    "en": "English",
    "fr": "Français",
    "de": "Deutsch",
    "es": "Español",
    "it": "Italiano",
    "nl": "Nederlands",
    "pt": "Português",
    "pl": "Polski",
}
FIELDS = (
    "name",
    "asns",
    "countries",
    "abuse_email",
    "webhook_url",
    "webhook_secret",
    "channel",
    "language",
    "notes",
)
_SPLIT = re.compile(r"[\s,;]+")


class Channel(StrEnum):
    email = "email"
    webhook = "webhook"


@dataclass(frozen=True)
class Provider:
    id: int
    name: str
    asns: tuple[int, ...]
    countries: tuple[str, ...]
    abuse_email: str | None
    webhook_url: str | None
    channel: Channel
    language: str
    notes: str | None


@dataclass(frozen=True)
class ProviderInput:
    """A validated entry, ready to store. `webhook_secret` is a newly entered secret; None
    keeps the stored one (dropped anyway when the entry has no webhook address)."""

    name: str
    asns: tuple[int, ...]
    countries: tuple[str, ...]
    abuse_email: str | None
    webhook_url: str | None
    channel: Channel
    language: str
    notes: str | None
    webhook_secret: str | None = None


@dataclass(frozen=True)
class Problem:
    """One thing wrong: `field` is the form field or CSV column, `row` the CSV row (the
    header is row 1, as a spreadsheet numbers them)."""

    field: str
    message: str  # a message id; may hold %(name)s placeholders filled from params
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    row: int | None = None

    @property
    def text(self) -> str:
        return Message(self.message, self.params) if self.params else self.message

    @property
    def where(self) -> str:
        if self.row is None:
            return self.field
        return f"row {self.row}, column {self.field}" if self.field else f"row {self.row}"


class DirectoryInvalid(InvalidInput):
    """InvalidInput whose `fields` say where (row and column for CSV) in English, and whose
    `problems` keep the message ids and parameters so pages can translate them."""

    def __init__(self, message: str, problems: list[Problem]) -> None:
        super().__init__(message, fields=[FieldError(p.where, p.text) for p in problems])
        self.problems = problems


def _has_control(text: str, *, multiline: bool = False) -> bool:
    allowed = {"\n", "\t"} if multiline else set()
    return any(unicodedata.category(c) == "Cc" and c not in allowed for c in text)


def _name(raw: str, out: list[Problem]) -> str:
    name = raw.strip()
    if not name:
        out.append(Problem("name", N_("Enter the provider's name.")))
    elif len(name) > NAME_MAX:
        out.append(Problem("name", N_("The name may have at most 200 characters.")))
    elif _has_control(name):
        out.append(Problem("name", N_("The name may not contain control characters.")))
    return name


def parse_asns(raw: str, out: list[Problem]) -> tuple[int, ...]:
    found: list[int] = []
    for token in filter(None, _SPLIT.split(raw.strip())):
        digits = token[2:] if token[:2].upper() == "AS" else token
        number = int(digits) if digits.isascii() and digits.isdigit() else 0
        if not 1 <= number <= ASN_MAX:
            out.append(
                Problem(
                    "asns",
                    N_(
                        "%(value)s is not an AS number: use whole numbers from 1 to "
                        "4294967295, separated by commas or spaces."
                    ),
                    {"value": token[:40]},
                )
            )
            return ()
        found.append(number)
    if len(set(found)) > LIST_MAX:
        out.append(Problem("asns", N_("List at most 500 AS numbers.")))
    return tuple(sorted(set(found)))


def parse_countries(raw: str, out: list[Problem]) -> tuple[str, ...]:
    found: list[str] = []
    for token in filter(None, _SPLIT.split(raw.strip())):
        code = token.upper()
        if code not in COUNTRIES:
            out.append(
                Problem(
                    "countries",
                    N_(
                        "%(value)s is not an ISO country code: use two-letter codes such as "
                        "GB or FR, separated by commas or spaces."
                    ),
                    {"value": token[:40]},
                )
            )
            return ()
        found.append(code)
    if len(set(found)) > LIST_MAX:
        out.append(Problem("countries", N_("List at most 500 countries.")))
    return tuple(sorted(set(found)))


def _email(raw: str, out: list[Problem]) -> str | None:
    text = raw.strip()
    if not text:
        return None
    email = clean_email(text) if not text.lower().startswith("mailto:") else None
    if email is None:
        out.append(Problem("abuse_email", N_("Enter an email address such as abuse@example.net.")))
    return email


def _webhook_url(raw: str, out: list[Problem]) -> str | None:
    text = raw.strip()
    if not text:
        return None
    try:
        return parse_target(text).url  # http(s) only, no credentials, a valid host
    except FetchError:
        out.append(
            Problem(
                "webhook_url",
                N_(
                    "Enter a web address starting with https:// or http://, without a user "
                    "name or password."
                ),
            )
        )
        return None


def _secret(raw: str, out: list[Problem]) -> str | None:
    if not raw:
        return None
    if not SECRET_MIN <= len(raw) <= SECRET_MAX or _has_control(raw) or not raw.strip():
        out.append(Problem("webhook_secret", N_("The secret must have 16 to 256 characters.")))
        return None
    return raw


def check(
    values: Mapping[str, str], *, secret_stored: bool = False, row: int | None = None
) -> tuple[ProviderInput | None, list[Problem]]:
    """Validate one entry (a form or a CSV row); the input, or None and every problem.

    `secret_stored`: the entry being edited already has a webhook secret, which it keeps
    unless a new one is entered or the webhook address is removed."""
    out: list[Problem] = []
    value = {name: values.get(name) or "" for name in FIELDS}
    name = _name(value["name"], out)
    asns = parse_asns(value["asns"], out)
    countries = parse_countries(value["countries"], out)
    email = _email(value["abuse_email"], out)
    url = _webhook_url(value["webhook_url"], out)
    secret = _secret(value["webhook_secret"], out)
    channel_text = value["channel"].strip().lower()
    channel = Channel(channel_text) if channel_text in set(Channel) else None
    if channel is None:
        out.append(Problem("channel", N_("Choose email or webhook.")))
    elif channel is Channel.email and email is None and not value["abuse_email"].strip():
        out.append(Problem("abuse_email", N_("Email notices need an abuse email address.")))
    elif channel is Channel.webhook:
        if url is None and not value["webhook_url"].strip():
            out.append(Problem("webhook_url", N_("Webhook notices need a webhook address.")))
        elif not value["webhook_secret"] and not secret_stored:
            out.append(Problem("webhook_secret", N_("Webhook notices need a secret.")))
    language = value["language"].strip().lower()
    if language not in LANGUAGES:
        out.append(Problem("language", N_("Choose one of the listed languages.")))
    notes = value["notes"].replace("\r\n", "\n").strip()
    if len(notes) > NOTES_MAX:
        out.append(Problem("notes", N_("Notes may have at most 2000 characters.")))
    elif _has_control(notes, multiline=True):
        out.append(Problem("notes", N_("Notes may not contain control characters.")))
    if out or channel is None:
        return None, [Problem(p.field, p.message, p.params, row) for p in out]
    entry = ProviderInput(
        name, asns, countries, email, url, channel, language, notes or None, secret
    )
    return entry, []


def parse(values: Mapping[str, str], *, secret_stored: bool = False) -> ProviderInput:
    """`check`, raising DirectoryInvalid with every problem."""
    entry, problems = check(values, secret_stored=secret_stored)
    if entry is None:
        raise DirectoryInvalid(N_("the hosting provider has errors"), problems)
    return entry


def asn_clashes(
    entries: Iterable[tuple[str, tuple[int, ...]]],
) -> dict[tuple[str, int], str]:
    """(name, asn) -> the other entry's name, for AS numbers two entries both claim. Matching
    a traced host by ASN must find one provider, never a choice."""
    owner: dict[int, str] = {}
    clashes: dict[tuple[str, int], str] = {}
    for name, asns in entries:
        for asn in asns:
            first = owner.setdefault(asn, name)
            if first != name:
                clashes[(name, asn)] = first
    return clashes

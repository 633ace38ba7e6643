"""Public reports: validate, de-duplicate by normalised URL, store, and tell the public status."""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, cast

from babel import Locale
from sqlalchemy import Table, case, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from hotline.db.base import utcnow
from hotline.errors import N_, FieldError, InvalidInput, NotFound
from hotline.intake.domains import site_domain
from hotline.intake.tables import ReportedUrlRow, ReportRow
from hotline.intake.urls import UrlError, normalise_url
from hotline.security.crypto import Sealer, sha256_hex

MAX_DESCRIPTION = 5000
MAX_EMAIL = 254
_EMAIL_RE = re.compile(r"^[^@\s<>\"]{1,64}@[^@\s<>\"]+\.[^@\s<>\"]{2,}$")
_REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
_REFERENCE_RE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$")
# ISO 3166-1 alpha-2 codes as CLDR knows them, less CLDR's groupings and private-use codes.
_NOT_COUNTRIES = {"ZZ", "EU", "EZ", "UN", "QO", "XA", "XB"}
COUNTRIES: frozenset[str] = frozenset(
    code
    for code in map(str, Locale("en").territories)
    if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES
)


class ContentType(StrEnum):
    image = "image"
    video = "video"
    other = "other"


class UrlStatus(StrEnum):
    """Where the assessment of a URL stands."""

    received = "received"
    in_assessment = "in_assessment"
    actioned = "actioned"
    no_action = "no_action"
    duplicate = "duplicate"  # an analyst found it is the same case as another URL


class PublicStatus(StrEnum):
    """All a reporter is ever told."""

    received = "received"
    in_assessment = "in_assessment"
    actioned = "actioned"
    no_action = "no_action"
    duplicate = "duplicate"


class Source(StrEnum):
    web = "web"
    api = "api"
    partner = "partner"  # forwarded by a partner hotline (hotline.exchange)


class Origin(StrEnum):
    """Who found the URL, for the published figures (hotline.stats). Not the channel
    (`Source`): a member platform may report through the API, a partner through exchange."""

    public = "public"  # anyone, through the form or the API
    proactive = "proactive"  # our own analysts' or crawler's search
    partner_hotline = "partner_hotline"  # forwarded by a partner hotline
    member = "member"  # a member platform
    child_self_report = (
        "child_self_report"  # a child or young person reporting images of themselves
    )


# The queue priority a report gives its URL (the queue lists higher first; a URL keeps the
# highest it was given). A partner hotline forwards what its own analysts have already looked
# at, so it ranks above public reports. Known material found on the page ranks higher still
# (hotline.assess.pipeline.KNOWN_MATCH_PRIORITY).
SOURCE_PRIORITY: dict[Source, int] = {Source.web: 0, Source.api: 0, Source.partner: 1}


@dataclass(frozen=True)
class ReportInput:
    url: str
    host: str
    submitted_url: str
    description: str | None
    email: str | None
    content_type: ContentType
    country: str | None


@dataclass(frozen=True)
class SubmittedReport:
    reference: str
    status: PublicStatus
    url_id: int = 0  # the reported URL's row (staff-side; never shown to the reporter)


def validate(fields: dict[str, Any]) -> ReportInput:
    """Check every field; raise InvalidInput listing each problem, or return clean input."""
    errors: list[FieldError] = []

    def text_field(name: str, limit: int) -> str | None:
        value = fields.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            errors.append(FieldError(name, N_("must be text")))
            return None
        value = value.strip()
        if len(value) > limit:
            errors.append(FieldError(name, N_("must be at most %(limit)s characters", limit=limit)))
            return None
        return value or None

    url = fields.get("url")
    normalised = None
    if url is None or (isinstance(url, str) and not url.strip()):
        errors.append(FieldError("url", N_("enter the web address you want to report")))
    elif not isinstance(url, str):
        errors.append(FieldError("url", N_("must be text")))
    else:
        try:
            normalised = normalise_url(url)
        except UrlError as exc:
            errors.append(FieldError("url", str(exc)))

    description = text_field("description", MAX_DESCRIPTION)
    email = text_field("email", MAX_EMAIL)
    if email is not None and not _EMAIL_RE.match(email):
        errors.append(FieldError("email", N_("is not a valid email address")))

    content_type = ContentType.other
    raw_type = fields.get("content_type")
    if raw_type not in (None, ""):
        if raw_type in ContentType.__members__:
            content_type = ContentType(raw_type)
        else:
            errors.append(FieldError("content_type", N_("must be image, video or other")))

    country = text_field("country", 2)
    if country is not None:
        country = country.upper()
        if country not in COUNTRIES:
            errors.append(FieldError("country", N_("must be a two-letter ISO 3166 country code")))

    if errors or normalised is None:
        raise InvalidInput(N_("the report has problems; nothing was stored"), fields=errors)
    return ReportInput(
        url=normalised.url,
        host=normalised.host,
        submitted_url=str(url).strip(),
        description=description,
        email=email,
        content_type=content_type,
        country=country,
    )


def new_reference() -> str:
    chars = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(12))
    return f"{chars[:4]}-{chars[4:8]}-{chars[8:]}"


def clean_reference(text: str) -> str:
    """Accept the reference however it was typed (case, spaces, dashes); raise if malformed."""
    compact = re.sub(r"[\s-]", "", text or "").upper()
    compact = compact.replace("O", "0").replace("I", "1").replace("L", "1")
    reference = f"{compact[:4]}-{compact[4:8]}-{compact[8:]}"
    if len(compact) != 12 or not _REFERENCE_RE.match(reference):
        raise InvalidInput(
            N_("a reference looks like ABCD-1234-WXYZ"),
            fields=[FieldError("reference", N_("not a valid reference"))],
        )
    return reference


def _upsert_statement(insert: Any) -> Any:
    """Insert a URL, or count one more report of it and raise its priority to the new
    report's if higher; returns (id, report_count, url_hash)."""
    # On the Table, not the mapped class: a Core statement skips the ORM's bulk-insert path
    # (about half of the upsert's time).
    table = ReportedUrlRow.__table__
    stmt = insert(table)
    return stmt.on_conflict_do_update(
        index_elements=[table.c.url_hash],
        set_={
            "report_count": table.c.report_count + 1,
            "last_reported_at": stmt.excluded.last_reported_at,
            "priority": case(
                (table.c.priority < stmt.excluded.priority, stmt.excluded.priority),
                else_=table.c.priority,
            ),
        },
    ).returning(table.c.id, table.c.report_count, table.c.url_hash)


# Built once per dialect: building it cost about 1 ms a report (a crawl reports many pages).
_UPSERT_URL = {
    "sqlite": _upsert_statement(sqlite.insert),
    "postgresql": _upsert_statement(postgresql.insert),
}


def _upsert_urls(
    session: Session, checked: Sequence[ReportInput], source: Source, now: datetime
) -> list[tuple[int, bool]]:
    """Insert each report's URL or count one more report of it (raising its priority to what
    this source gives, if higher); return (id, whether it is new) for each, in order. One
    executemany a round, a round holding each URL once (PostgreSQL refuses to update a row
    twice in one statement), in hash order (two writers lock rows in one order); RETURNING
    carries the hash, since its rows come back in no promised order."""
    statement = _UPSERT_URL[session.get_bind().dialect.name]
    rounds: list[dict[str, int]] = []  # round -> url_hash -> the position it answers
    values: dict[str, dict[str, Any]] = {}
    for position, report in enumerate(checked):
        url_hash = sha256_hex(report.url)
        if url_hash not in values:
            domain, tld = site_domain(report.host)
            values[url_hash] = {
                "url_hash": url_hash,
                "normalized_url": report.url,
                "host": report.host,
                "status": UrlStatus.received.value,
                "report_count": 1,
                "first_reported_at": now,
                "last_reported_at": now,
                "priority": SOURCE_PRIORITY[source],
                "domain": domain,
                "tld": tld,
            }
        held = next((r for r in rounds if url_hash not in r), None)
        if held is None:
            rounds.append(held := {})
        held[url_hash] = position
    out: list[tuple[int, bool]] = [(0, False)] * len(checked)
    for held in rounds:
        params = [values[url_hash] for url_hash in sorted(held)]
        for url_id, count, url_hash in session.execute(statement, params):
            out[held[url_hash]] = (url_id, count == 1)
    return out


def submit(
    session: Session,
    report: ReportInput,
    source: Source,
    sealer: Sealer | None,
    origin: Origin = Origin.public,
) -> SubmittedReport:
    """Store a checked report in the caller's transaction. `sealer` None: email not kept."""
    return submit_many(session, [report], source, sealer, origin)[0]


_INSERT_REPORT = insert(cast(Table, ReportRow.__table__))  # Core: no ORM objects to build


def submit_many(
    session: Session,
    checked: Sequence[ReportInput],
    source: Source,
    sealer: Sealer | None,
    origin: Origin = Origin.public,
) -> list[SubmittedReport]:
    """Store checked reports in the caller's transaction, in order (`submit`'s rules; a URL
    twice among them is a duplicate the second time). A statement a round of URLs and one
    for the reports, however many."""
    if not checked:
        return []
    now = utcnow()
    session.flush()  # what the caller added first precedes the reports
    urls = _upsert_urls(session, checked, source, now)
    rows: list[dict[str, Any]] = []
    submitted: list[SubmittedReport] = []
    for report, (url_id, is_new) in zip(checked, urls, strict=True):
        email = sealer.seal(report.email.encode()) if (sealer and report.email) else None
        reference = new_reference()
        rows.append(
            {
                "reference": reference,
                "url_id": url_id,
                "submitted_url": report.submitted_url,
                "description": report.description,
                "email_encrypted": email,
                "content_type": report.content_type.value,
                "country": report.country,
                "source": source.value,
                "origin": origin.value,
                "is_duplicate": not is_new,
                "created_at": now,
            }
        )
        status = PublicStatus.received if is_new else PublicStatus.duplicate
        submitted.append(SubmittedReport(reference, status, url_id))
    session.execute(_INSERT_REPORT, rows)
    return submitted


def public_status(session: Session, reference: str) -> PublicStatus:
    reference = clean_reference(reference)
    found = session.execute(
        select(ReportRow.is_duplicate, ReportedUrlRow.status)
        .join(ReportedUrlRow, ReportedUrlRow.id == ReportRow.url_id)
        .where(ReportRow.reference == reference)
    ).first()
    if found is None:
        raise NotFound(N_("no report has that reference"))
    is_duplicate, url_status = found
    if is_duplicate:
        return PublicStatus.duplicate
    return PublicStatus(url_status)


@dataclass(frozen=True)
class StatusDetail:
    """What the status page tells a reporter: their report's status and, for a duplicate, the
    outcome for the address itself; dates are this report's own receipt and the address's
    assessment and removal. Nothing about other reports or reporters (not even how many)."""

    status: PublicStatus
    outcome: UrlStatus | None  # duplicates only: where the address itself stands
    received_at: datetime
    assessed_at: datetime | None
    removed_at: datetime | None


def public_status_detail(session: Session, reference: str) -> StatusDetail:
    reference = clean_reference(reference)
    found = session.execute(
        select(
            ReportRow.is_duplicate,
            ReportRow.created_at,
            ReportedUrlRow.status,
            ReportedUrlRow.verdict_at,
            ReportedUrlRow.removed_at,
        )
        .join(ReportedUrlRow, ReportedUrlRow.id == ReportRow.url_id)
        .where(ReportRow.reference == reference)
    ).first()
    if found is None:
        raise NotFound(N_("no report has that reference"))
    is_duplicate, created_at, url_status, verdict_at, removed_at = found
    url_status = UrlStatus(url_status)
    open_statuses = (UrlStatus.received, UrlStatus.in_assessment)
    return StatusDetail(
        status=PublicStatus.duplicate if is_duplicate else PublicStatus(url_status),
        outcome=url_status if is_duplicate else None,
        received_at=created_at,
        # An assessment date only once there is an outcome (a claim is not an assessment).
        assessed_at=None if url_status in open_statuses else verdict_at,
        removed_at=removed_at,
    )

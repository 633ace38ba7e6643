"""Words for stored codes and dates on pages, in the reader's language.

Templates write `{{ value|label }}` for any enum value or code (a category, a state, a verdict
or its reason code, a sex, a non-photographic kind...) and `{{ moment|datetime }}` or
`{{ moment|date }}` for dates, `{{ x|number(2) }}` and `{{ share|percent }}` for figures, so no
page shows a raw code, "None" or an English-only date or number.
A value with no label here is shown with its underscores as spaces (never as "None"); add a
label with `N_()` when a new code reaches a page.
"""

from __future__ import annotations

from datetime import UTC, datetime
from datetime import date as date_type
from enum import Enum
from typing import Any

from babel.dates import format_date, format_time
from babel.numbers import format_decimal, format_percent

from hotline.web import i18n

EMPTY = "—"


def N_(message: str) -> str:
    """Mark a message for extraction; `label` translates it when it is shown."""
    return message


# Labels shared by several enums (a state and a verdict both say "duplicate").
_LABELS: dict[str, str] = {
    # UK categories (grading.model.Category)
    "A": N_("Category A"),
    "B": N_("Category B"),
    "C": N_("Category C"),
    "not_illegal": N_("Not illegal"),
    # youngest apparent age band (grading.model.AgeBand)
    "0-2": N_("0 to 2 years"),
    "3-6": N_("3 to 6 years"),
    "7-10": N_("7 to 10 years"),
    "11-13": N_("11 to 13 years"),
    "14-15": N_("14 to 15 years"),
    "16-17": N_("16 to 17 years"),
    # sex of the children shown (grading.model.ChildrenSex)
    "girls": N_("Girls"),
    "boys": N_("Boys"),
    "both": N_("Girls and boys"),
    "unidentified": N_("Not identifiable"),
    # one child's apparent sex (grading.model.ChildSex)
    "girl": N_("Girl"),
    "boy": N_("Boy"),
    # non-photographic kinds (grading.model.NonPhotographic)
    "drawn": N_("Drawn"),
    "computer_generated": N_("Computer-generated"),
    "ai_generated": N_("AI-generated"),
    # a reported address's state (intake.reports.UrlStatus, PublicStatus)
    "received": N_("Received"),
    "in_assessment": N_("In assessment"),
    "actioned": N_("Actioned"),
    "no_action": N_("No action"),
    "duplicate": N_("Duplicate"),
    # URL verdicts and their reason codes (assess.queue.Verdict, REASONS)
    "criminal": N_("Criminal content present"),
    "not_criminal": N_("Not criminal"),
    "unreachable": N_("Unreachable"),
    "indecent_images": N_("Indecent images of children"),
    "prohibited_images": N_("Prohibited images (non-photographic)"),
    "links_to_criminal_content": N_("Links to or advertises criminal content"),
    "adult_content": N_("Adult content"),
    "child_not_indecent": N_("Child shown, not indecent"),
    "no_relevant_content": N_("No relevant content"),
    "outside_remit": N_("Outside our remit"),
    "not_found": N_("Not found"),
    "server_error": N_("Server error"),
    "timeout": N_("Timed out"),
    "dns_failure": N_("Name does not resolve"),
    "access_blocked": N_("Access blocked"),
    "same_content_as_other_url": N_("Same content as another address"),
    # media grading states (grading.service.MediaStatus)
    "awaiting_grades": N_("Awaiting grades"),
    "known_match": N_("Known match"),
    "agreed": N_("Agreed"),
    "disagreement": N_("Disagreement"),
    "resolved": N_("Resolved"),
    # report kinds and channels (intake.reports.ContentType, Source)
    "image": N_("Image"),
    "video": N_("Video"),
    "other": N_("Other"),
    "web": N_("Web form"),
    "api": N_("API"),
    "partner": N_("Partner hotline"),
    # who found a reported address (intake.reports.Origin)
    "public": N_("Members of the public"),
    "proactive": N_("Proactive search"),
    "partner_hotline": N_("Forwarded by a partner hotline"),
    "member": N_("Member platform"),
    "child_self_report": N_("A child's self-report"),
    # takedown cases (takedown.cases.CaseState, Route) and notices (NoticeStatus)
    "proposed": N_("Proposed"),
    "notified": N_("Notified"),
    "forwarded": N_("Forwarded"),
    "removed": N_("Removed"),
    "escalated": N_("Escalated"),
    "notice": N_("Notice"),
    "pending": N_("Pending"),
    "sending": N_("Sending"),
    "sent": N_("Sent"),
    "failed": N_("Failed"),
    "bounced": N_("Bounced"),
    "cancelled": N_("Cancelled"),
    # hosting trace (assess.hosting.TraceOutcome)
    "traced": N_("Traced"),
    "no_data": N_("No data"),
    "not_public": N_("Not a public address"),
    "no_address": N_("No address"),
    # why a capture or one of its items failed (assess.fetch_errors, assess.capture)
    "bad_url": N_("Not a web address we fetch"),
    "blocked_address": N_("Refused: not a public address"),
    "dns_failed": N_("Name does not resolve"),
    "connect_failed": N_("Connection failed"),
    "tls_error": N_("Secure connection failed"),
    "too_many_redirects": N_("Too many redirects"),
    "too_large": N_("Too large"),
    "decompression_bomb": N_("Too large once decompressed"),
    "protocol_error": N_("Broken answer"),
    "http_status": N_("Answered with an error status"),
    "capture_timeout": N_("Capture time ran out"),
    "capture_too_large": N_("Capture size limit reached"),
    "hashing_failed": N_("Hashing failed"),
    # form fields named in error lists
    "category": N_("Category"),
    "age_band": N_("Youngest apparent age"),
    "sex": N_("Sex of children shown"),
    "non_photographic": N_("Non-photographic"),
    "self_generated": N_("Self-generated"),
    "grid": N_("Multi-image grid"),
    "tags": N_("Tags"),
    "decision": N_("Decision"),
    "note": N_("Note for colleagues"),
    "duplicate_of": N_("Duplicate of"),
    # booleans
    "true": N_("Yes"),
    "false": N_("No"),
}


def label(value: Any) -> str:
    """The reader's word for a stored code; "—" for nothing."""
    if value is None or value == "":
        return EMPTY
    if isinstance(value, bool):
        key = "true" if value else "false"
    elif isinstance(value, Enum):
        key = str(value.value)
    else:
        key = str(value)
    found = _LABELS.get(key) or _LABELS.get(key.lower())
    if found is None:
        return key.replace("_", " ")
    return i18n.gettext_(found)


def has_label(value: Any) -> bool:
    key = str(value.value if isinstance(value, Enum) else value)
    return key in _LABELS


def datetime_(value: datetime | None) -> str:
    """A date and a 24-hour time in the reader's language, as stored (UTC), no seconds."""
    if value is None:
        return EMPTY
    locale = i18n.current_locale()
    moment = value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    day = format_date(moment, "medium", locale=locale)
    return f"{day} {format_time(moment, 'HH:mm', locale=locale)}"


def date_(value: date_type | datetime | None, form: str = "medium") -> str:
    if value is None:
        return EMPTY
    return format_date(value, form, locale=i18n.current_locale())


def number(value: float | int | None, digits: int = 0) -> str:
    """A figure with `digits` decimals in the reader's language ("1 234,50" in French, with
    its narrow no-break space and decimal comma); "—" for none."""
    if value is None:
        return EMPTY
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    return format_decimal(value, pattern, locale=i18n.current_locale())


def percent(value: float | None) -> str:
    """A share (0.25) as a whole percentage in the reader's language ("25%", "25 %")."""
    if value is None:
        return EMPTY
    return format_percent(value, locale=i18n.current_locale())


def install(env: Any) -> None:
    """Add the filters to a Jinja2 environment (done once in web.templating)."""
    env.filters["label"] = label
    env.filters["datetime"] = datetime_
    env.filters["date"] = date_
    env.filters["number"] = number
    env.filters["percent"] = percent
    env.globals["label"] = label

"""The hosting provider directory: who to tell about content on which network, and how.

Rows convert to `Provider` here, at the storage edge; the rules live in `provider_rules`.
Webhook secrets are stored sealed (AES-GCM, key derived for "webhook-secret") and never
shown again after entry: pages and exports only say whether one is set. Every change is
audited in the same transaction as the change itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline.db.base import utcnow
from hotline.errors import N_, Conflict, NotFound
from hotline.security import audit
from hotline.security.crypto import Sealer, sealer_for
from hotline.takedown.provider_rules import (
    LANGUAGES,
    Channel,
    DirectoryInvalid,
    Problem,
    Provider,
    ProviderInput,
    asn_clashes,
    check,
    parse,
)
from hotline.takedown.tables import HostingProviderRow, TakedownCaseRow

__all__ = [
    "LANGUAGES",
    "Channel",
    "DirectoryInvalid",
    "Entry",
    "Problem",
    "Provider",
    "ProviderInput",
    "case_count",
    "check",
    "create_provider",
    "delete_provider",
    "get_provider",
    "list_providers",
    "parse",
    "provider_for_host",
    "secret_sealer",
    "update_provider",
    "webhook_secret",
]

SECRET_PURPOSE = "webhook-secret"  # noqa: S105 (a key-derivation label, not a secret)
OBJECT = "hosting_provider"  # the audit log's object type


@dataclass(frozen=True)
class Entry:
    """A provider as the directory pages list it."""

    provider: Provider
    secret_set: bool
    updated_at: datetime


def secret_sealer(secret_key: bytes) -> Sealer:
    """The sealer for webhook secrets, from the settings' secret (`settings.secret`)."""
    return sealer_for(secret_key, SECRET_PURPOSE)


def _split(text: str) -> list[str]:
    return [part for part in text.split(",") if part]


def to_provider(row: HostingProviderRow) -> Provider:
    return Provider(
        id=row.id,
        name=row.name,
        asns=tuple(int(a) for a in _split(row.asns)),
        countries=tuple(_split(row.countries)),
        abuse_email=row.abuse_email,
        webhook_url=row.webhook_url,
        channel=Channel(row.channel),
        language=row.language,
        notes=row.notes,
    )


def _row(session: Session, provider_id: int) -> HostingProviderRow:
    row = session.get(HostingProviderRow, provider_id)
    if row is None:
        raise NotFound(N_("there is no such hosting provider"))
    return row


def get_provider(session: Session, provider_id: int) -> Provider:
    return to_provider(_row(session, provider_id))


def get_entry(session: Session, provider_id: int) -> Entry:
    row = _row(session, provider_id)
    return Entry(to_provider(row), row.webhook_secret_sealed is not None, row.updated_at)


def list_providers(session: Session) -> list[Entry]:
    rows = session.execute(
        select(HostingProviderRow).order_by(func.lower(HostingProviderRow.name))
    ).scalars()
    return [Entry(to_provider(r), r.webhook_secret_sealed is not None, r.updated_at) for r in rows]


def provider_for_host(
    session: Session,
    *,
    asn: int | None,
    country: str | None,
    abuse_emails: Sequence[str] = (),
) -> Provider | None:
    """The directory's provider for a traced host: by ASN first, then by an abuse email equal
    to the provider's; None when nothing matches. Country alone is not enough (many hosts
    share one), so `country` only breaks a tie between providers sharing an abuse address."""
    if asn is not None:
        # LIKE narrows the scan; the exact check below rules out 6450 matching 64500.
        candidates = session.execute(
            select(HostingProviderRow)
            .where(HostingProviderRow.asns.contains(str(asn)))
            .order_by(HostingProviderRow.id)
        ).scalars()
        for row in candidates:
            if str(asn) in _split(row.asns):
                return to_provider(row)
    emails = {e.strip().lower() for e in abuse_emails if e and e.strip()}
    if not emails:
        return None
    rows = list(
        session.execute(
            select(HostingProviderRow)
            .where(func.lower(HostingProviderRow.abuse_email).in_(sorted(emails)))
            .order_by(HostingProviderRow.id)
        ).scalars()
    )
    if not rows:
        return None
    wanted = (country or "").upper()
    in_country = [r for r in rows if wanted and wanted in _split(r.countries)]
    return to_provider((in_country or rows)[0])


def webhook_secret(session: Session, provider_id: int, sealer: Sealer) -> bytes | None:
    """The provider's webhook secret, opened; None when none is set. NotFound for an unknown
    provider; DecryptionError if the secret key changed since it was entered."""
    sealed = _row(session, provider_id).webhook_secret_sealed
    return None if sealed is None else sealer.open(sealed)


# -- changes -------------------------------------------------------------------------------


def _by_name(session: Session, name: str) -> HostingProviderRow | None:
    return session.execute(
        select(HostingProviderRow).where(func.lower(HostingProviderRow.name) == name.lower())
    ).scalar_one_or_none()


def _check_unique(session: Session, data: ProviderInput, own_id: int | None) -> None:
    problems: list[Problem] = []
    same = _by_name(session, data.name)
    if same is not None and same.id != own_id:
        problems.append(Problem("name", N_("A provider with this name already exists.")))
    others = session.execute(
        select(HostingProviderRow.name, HostingProviderRow.asns).where(
            HostingProviderRow.id != (own_id or 0)
        )
    ).all()
    entries = [(n, tuple(int(a) for a in _split(a_text))) for n, a_text in others]
    clashes = asn_clashes([*entries, (data.name, data.asns)])
    for (name, asn), other in sorted(clashes.items()):
        if name == data.name:
            problems.append(
                Problem(
                    "asns",
                    N_("AS%(asn)s is already listed for %(provider)s."),
                    {"asn": asn, "provider": other},
                )
            )
    if problems:
        raise DirectoryInvalid(N_("the hosting provider has errors"), problems)


def apply(
    row: HostingProviderRow, data: ProviderInput, sealer: Sealer | None, now: datetime
) -> None:
    """Copy a validated entry onto its row. A secret is dropped with the webhook address."""
    row.name = data.name
    row.asns = ",".join(str(a) for a in data.asns)
    row.countries = ",".join(data.countries)
    row.abuse_email = data.abuse_email
    row.webhook_url = data.webhook_url
    row.channel = data.channel.value
    row.language = data.language
    row.notes = data.notes
    row.updated_at = now
    if data.webhook_url is None:
        row.webhook_secret_sealed = None
    elif data.webhook_secret is not None:
        if sealer is None:
            raise ValueError("a sealer is needed to store a webhook secret")
        row.webhook_secret_sealed = sealer.seal(data.webhook_secret.encode())


def audit_detail(data: ProviderInput) -> dict[str, object]:
    """What the audit log keeps of an entry: everything but the secret itself."""
    return {
        "name": data.name,
        "asns": list(data.asns),
        "countries": list(data.countries),
        "abuse_email": data.abuse_email,
        "webhook_url": data.webhook_url,
        "channel": data.channel.value,
        "language": data.language,
        "secret_changed": data.webhook_secret is not None,
    }


def create_provider(
    session: Session, data: ProviderInput, sealer: Sealer | None, actor: str
) -> Provider:
    _check_unique(session, data, None)
    now = utcnow()
    row = HostingProviderRow(created_at=now)
    apply(row, data, sealer, now)
    session.add(row)
    session.flush()
    audit.record(session, actor, "hosting_provider.created", OBJECT, row.id, audit_detail(data))
    return to_provider(row)


def update_provider(
    session: Session, provider_id: int, data: ProviderInput, sealer: Sealer | None, actor: str
) -> Provider:
    row = _row(session, provider_id)
    # A form checked against an older state must not save a webhook without a secret.
    keeps_none = row.webhook_secret_sealed is None or data.webhook_url is None
    if data.channel is Channel.webhook and data.webhook_secret is None and keeps_none:
        problem = Problem("webhook_secret", N_("Webhook notices need a secret."))
        raise DirectoryInvalid(N_("the hosting provider has errors"), [problem])
    _check_unique(session, data, provider_id)
    apply(row, data, sealer, utcnow())
    session.flush()
    audit.record(session, actor, "hosting_provider.updated", OBJECT, row.id, audit_detail(data))
    return to_provider(row)


def case_count(session: Session, provider_id: int) -> int:
    """Takedown cases that name this provider."""
    return session.execute(
        select(func.count())
        .select_from(TakedownCaseRow)
        .where(TakedownCaseRow.provider_id == provider_id)
    ).scalar_one()


def delete_provider(session: Session, provider_id: int, actor: str) -> None:
    """Delete an entry; Conflict while any takedown case refers to it (the case's history
    must keep saying whom it notified)."""
    row = _row(session, provider_id)
    cases = case_count(session, provider_id)
    if cases:
        raise Conflict(
            N_(
                "%(provider)s cannot be deleted: %(cases)s takedown case(s) refer to it; "
                "edit it instead",
                provider=row.name,
                cases=cases,
            )
        )
    name = row.name
    session.delete(row)
    session.flush()
    audit.record(session, actor, "hosting_provider.deleted", OBJECT, provider_id, {"name": name})


def parse_input(values: dict[str, str], session: Session, provider_id: int | None) -> ProviderInput:
    """Validate a form for a new entry (`provider_id` None) or an existing one."""
    stored = False
    if provider_id is not None:
        stored = _row(session, provider_id).webhook_secret_sealed is not None
    return parse(values, secret_stored=stored)

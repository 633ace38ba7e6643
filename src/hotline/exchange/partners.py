"""Partner hotlines: who they are, the countries they cover, where their instance answers, and
the public key their admins handed ours. Rows become `Partner` objects at this edge."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.db.base import utcnow
from hotline.errors import N_, Conflict, FieldError, InvalidInput, NotFound
from hotline.exchange import protocol
from hotline.exchange.tables import PartnerRow
from hotline.intake.reports import COUNTRIES
from hotline.security.keys import key_id_of

MAX_URL = 500


@dataclass(frozen=True)
class Partner:
    id: int
    name: str
    countries: tuple[str, ...]
    base_url: str
    public_key: str  # base64 of the raw 32-byte Ed25519 key
    key_id: str
    enabled: bool
    created_at: datetime

    def url_for(self, path: str) -> str:
        return self.base_url + path

    def verifying_key(self) -> protocol.PartnerKey:
        return protocol.PartnerKey(
            self.name, self.key_id, base64.b64decode(self.public_key), self.enabled
        )


def from_row(row: PartnerRow) -> Partner:
    return Partner(
        row.id,
        row.name,
        tuple(c for c in row.countries.split(",") if c),
        row.base_url,
        row.public_key,
        row.key_id,
        row.enabled,
        row.created_at,
    )


# -- validation --------------------------------------------------------------------------------


def _name(value: str, errors: list[FieldError]) -> str:
    name = value.strip()
    if not protocol.valid_name(name):
        errors.append(
            FieldError(
                "name",
                N_(
                    "must be 1 to 64 letters, digits, spaces or . ' & ( ) _ -, as the partner's "
                    "`hotline partner key` prints it"
                ),
            )
        )
    return name


def _countries(value: str | Iterable[str], errors: list[FieldError]) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else list(value)
    codes = [c.strip().upper() for c in items if c.strip()]
    bad = [c for c in codes if c not in COUNTRIES]
    if not codes:
        errors.append(FieldError("countries", N_("name at least one country, e.g. GB,IE")))
    elif bad:
        errors.append(
            FieldError(
                "countries",
                N_("not ISO 3166 two-letter country codes: %(items)s", items=", ".join(bad)),
            )
        )
    return tuple(sorted(set(codes)))


def _base_url(value: str, errors: list[FieldError]) -> str:
    text = value.strip()
    try:
        parts = urlsplit(text)
        host = parts.hostname
        _ = parts.port  # raises ValueError for a bad port
    except ValueError:
        parts, host = None, None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not host
        or parts.username is not None
        or parts.query
        or parts.fragment
        or len(text) > MAX_URL
    ):
        errors.append(
            FieldError(
                "url",
                N_(
                    "must be the partner instance's http:// or https:// address, without "
                    "credentials, query or fragment"
                ),
            )
        )
        return text
    return text.rstrip("/")


def _public_key(value: str, errors: list[FieldError]) -> tuple[str, str]:
    text = value.strip()
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        errors.append(
            FieldError("public_key", N_("must be the base64 Ed25519 public key (32 bytes)"))
        )
        return text, ""
    return base64.b64encode(raw).decode(), key_id_of(raw)


def _raise(errors: list[FieldError]) -> None:
    if errors:
        raise InvalidInput(N_("the partner has problems; nothing was stored"), fields=errors)


# -- the store ---------------------------------------------------------------------------------


def _row(session: Session, name: str, lock: bool = False) -> PartnerRow:
    query = select(PartnerRow).where(PartnerRow.name == name.strip())
    row = session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if row is None:
        raise NotFound(N_("no partner hotline is called '%(name)s'", name=name.strip()))
    return row


def add(
    session: Session,
    name: str,
    countries: str | Iterable[str],
    base_url: str,
    public_key: str,
) -> Partner:
    """A new, enabled partner; InvalidInput listing every problem, Conflict for a taken name."""
    errors: list[FieldError] = []
    clean_name = _name(name, errors)
    codes = _countries(countries, errors)
    url = _base_url(base_url, errors)
    key, key_id = _public_key(public_key, errors)
    _raise(errors)
    taken = session.execute(select(PartnerRow.id).where(PartnerRow.name == clean_name)).first()
    if taken is not None:
        raise Conflict(
            N_("a partner hotline called '%(clean_name)s' already exists", clean_name=clean_name)
        )
    row = PartnerRow(
        name=clean_name,
        countries=",".join(codes),
        base_url=url,
        public_key=key,
        key_id=key_id,
        enabled=True,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return from_row(row)


def set_key(session: Session, name: str, public_key: str) -> Partner:
    """Replace a partner's public key (after they rotated theirs)."""
    errors: list[FieldError] = []
    key, key_id = _public_key(public_key, errors)
    _raise(errors)
    row = _row(session, name, lock=True)
    row.public_key, row.key_id = key, key_id
    return from_row(row)


def set_enabled(session: Session, name: str, enabled: bool) -> Partner:
    row = _row(session, name, lock=True)
    row.enabled = enabled
    return from_row(row)


def get(session: Session, partner_id: int) -> Partner:
    row = session.get(PartnerRow, partner_id)
    if row is None:
        raise NotFound(N_("no partner hotline has id %(partner_id)s", partner_id=partner_id))
    return from_row(row)


def by_name(session: Session, name: str, *, lock: bool = False) -> Partner:
    return from_row(_row(session, name, lock))


def listing(session: Session) -> list[Partner]:
    return [from_row(r) for r in session.scalars(select(PartnerRow).order_by(PartnerRow.name))]


def partner_for_country(session: Session, country: str | None) -> Partner | None:
    """The enabled partner covering `country`; where two do, the one added first."""
    if not country:
        return None
    code = country.strip().upper()
    rows = session.scalars(
        select(PartnerRow).where(PartnerRow.enabled.is_(True)).order_by(PartnerRow.id)
    )
    for row in rows:
        if code in row.countries.split(","):
            return from_row(row)
    return None

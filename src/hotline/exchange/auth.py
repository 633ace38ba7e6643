"""Authenticating a partner's request against the database: the partner row, the protocol
checks, and the nonce's first use (a unique row per partner and nonce, so a replay fails on
the constraint even when two copies arrive at once)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hotline.exchange import protocol
from hotline.exchange.partners import Partner, from_row
from hotline.exchange.protocol import Refusal, Refused
from hotline.exchange.tables import ExchangeNonceRow, PartnerRow


def _remember_nonce(session: Session, partner_id: int, nonce: str, now: datetime) -> None:
    try:
        # A savepoint: on PostgreSQL a failed insert would otherwise doom the transaction.
        with session.begin_nested():
            session.add(ExchangeNonceRow(partner_id=partner_id, nonce=nonce, seen_at=now))
    except IntegrityError as exc:
        raise Refused(Refusal.replayed_nonce) from exc


def purge_nonces(session: Session, now: datetime, skew_seconds: int) -> None:
    """Forget nonces no signature check could accept again: a timestamp may be up to the skew
    ahead of the moment its nonce was seen, and is refused once it is the skew behind now."""
    horizon = now - timedelta(seconds=2 * skew_seconds)
    session.execute(delete(ExchangeNonceRow).where(ExchangeNonceRow.seen_at < horizon))


def authenticate(
    session: Session,
    headers: Mapping[str, str],
    *,
    method: str,
    path: str,
    body: bytes,
    recipient: str,
    now: datetime,
    skew_seconds: int,
) -> Partner:
    """The partner who signed this request, or Refused. The partner's row stays locked to the
    end of the transaction, so one partner's requests are handled one at a time (a retried
    forward cannot be stored twice by two racing copies)."""
    signed = protocol.parse(headers)
    row = session.execute(
        select(PartnerRow).where(PartnerRow.name == signed.sender).with_for_update()
    ).scalar_one_or_none()
    partner = from_row(row) if row is not None else None
    protocol.verify(
        signed,
        partner.verifying_key() if partner else None,
        method=method,
        path=path,
        recipient=recipient,
        body=body,
        now=int(now.timestamp()),
        skew_seconds=skew_seconds,
    )
    assert partner is not None  # verify refuses an unknown partner
    try:
        _remember_nonce(session, partner.id, signed.nonce, now)
    except Refused as exc:
        exc.partner = partner.name
        raise
    purge_nonces(session, now, skew_seconds)
    return partner

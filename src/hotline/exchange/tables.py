"""Tables for the exchange between partner hotlines: the partners and their keys, this
instance's own signing key, nonces seen (against replay), reports forwarded out and reports
received in (with provenance)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hotline.db.base import Base, UTCDateTime


class PartnerRow(Base):
    """Another hotline's `hotline` instance, with the public key its admins gave ours."""

    __tablename__ = "partner_hotlines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)  # how they name themselves
    countries: Mapped[str] = mapped_column(Text)  # comma-separated ISO codes they cover
    base_url: Mapped[str] = mapped_column(Text)
    public_key: Mapped[str] = mapped_column(String(64))  # base64 raw Ed25519
    key_id: Mapped[str] = mapped_column(String(16))
    enabled: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ExchangeKeyRow(Base):
    """This instance's Ed25519 identity for the exchange; the private half sealed."""

    __tablename__ = "exchange_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(16), unique=True)
    public_key: Mapped[str] = mapped_column(String(64))
    private_sealed: Mapped[str] = mapped_column(Text)  # base64 of AES-GCM sealed raw key
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ExchangeNonceRow(Base):
    """A nonce a partner used; a second use is a replay."""

    __tablename__ = "exchange_nonces"
    __table_args__ = (UniqueConstraint("partner_id", "nonce"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner_hotlines.id"))
    nonce: Mapped[str] = mapped_column(String(64))
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class ForwardRow(Base):
    """A takedown case handed to a partner hotline instead of a notice to the host."""

    __tablename__ = "exchange_forwards"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("takedown_cases.id"), unique=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner_hotlines.id"), index=True)
    state: Mapped[str] = mapped_column(String(16), index=True)  # pending, delivered, failed
    attempts: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    remote_reference: Mapped[str | None] = mapped_column(String(64), nullable=True)
    remote_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    remote_status_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class InboundReportRow(Base):
    """A report a partner forwarded to us: where it came from, and what we have told them."""

    __tablename__ = "exchange_inbound"
    __table_args__ = (UniqueConstraint("partner_id", "remote_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner_hotlines.id"), index=True)
    remote_id: Mapped[str] = mapped_column(String(64))  # the sender's forward id
    reference: Mapped[str] = mapped_column(String(32), unique=True)  # ours, sent back
    url_id: Mapped[int] = mapped_column(ForeignKey("reported_urls.id"), index=True)
    provenance: Mapped[str] = mapped_column(Text)  # JSON: what the partner said of it
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_status_sent: Mapped[str | None] = mapped_column(String(16), nullable=True)

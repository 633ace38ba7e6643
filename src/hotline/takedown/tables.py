"""Tables for notice and takedown: the host directory, one takedown case per confirmed URL,
the notices and reminders sent for it, and each re-check of the URL."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hotline.db.base import Base, UTCDateTime


class HostingProviderRow(Base):
    """A hosting provider in the directory: who to tell, and how."""

    __tablename__ = "hosting_providers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    asns: Mapped[str] = mapped_column(Text)  # comma-separated AS numbers, e.g. "64500,64501"
    countries: Mapped[str] = mapped_column(Text)  # comma-separated ISO 3166 alpha-2 codes
    abuse_email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    webhook_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    webhook_secret_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    channel: Mapped[str] = mapped_column(String(16))  # email or webhook
    language: Mapped[str] = mapped_column(String(8))
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TakedownCaseRow(Base):
    """The removal work for one URL with the verdict 'criminal content present'. Its clocks
    (first reported, first notice, removed) are what time-to-removal figures are made of."""

    __tablename__ = "takedown_cases"
    __table_args__ = (Index("ix_takedown_cases_state_next_check", "state", "next_check_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url_id: Mapped[int] = mapped_column(ForeignKey("reported_urls.id"), unique=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)  # quoted in notices
    state: Mapped[str] = mapped_column(String(16), index=True)  # CaseState
    route: Mapped[str | None] = mapped_column(String(16), nullable=True)  # notice or partner
    provider_id: Mapped[int | None] = mapped_column(
        ForeignKey("hosting_providers.id"), nullable=True, index=True
    )
    partner_id: Mapped[int | None] = mapped_column(
        ForeignKey("partner_hotlines.id"), nullable=True, index=True
    )
    # Snapshots at proposal time, so figures group by what was true then.
    host_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    country: Mapped[str | None] = mapped_column(String(2), nullable=True)
    category: Mapped[str | None] = mapped_column(String(16), nullable=True)  # worst UK category
    first_reported_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)  # figures
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    confirmed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    first_notice_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_notice_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reminders_sent: Mapped[int] = mapped_column(Integer)
    next_reminder_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    checks: Mapped[int] = mapped_column(Integer)
    unreachable_streak: Mapped[int] = mapped_column(Integer)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    removal_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    escalation: Mapped[str | None] = mapped_column(String(32), nullable=True)
    flagged: Mapped[bool] = mapped_column(Boolean)  # needs a person: bounces, failures
    flag_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class NoticeRow(Base):
    """One notice or reminder to a host, by email or signed webhook, and its delivery."""

    __tablename__ = "takedown_notices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("takedown_cases.id"), index=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # notice or reminder
    channel: Mapped[str] = mapped_column(String(16))  # email or webhook
    recipient: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)  # NoticeStatus
    attempts: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    message_id: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class RecheckRow(Base):
    """One re-fetch of a case's URL and what it showed."""

    __tablename__ = "takedown_checks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("takedown_cases.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(32))  # CheckOutcome
    http_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)

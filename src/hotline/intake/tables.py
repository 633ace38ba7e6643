"""Tables for reported URLs and the public reports that name them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from hotline.db.base import Base, UTCDateTime

# Open queue items (UrlStatus.received, UrlStatus.in_assessment), as the partial index has it.
WAITING = "status IN ('received', 'in_assessment')"
# Claimed addresses, as the partial claim index has it (migration 0029).
CLAIMED = "claimed_by IS NOT NULL"
# Raised priorities, as the partial priority index has it (migration 0029).
RAISED = "priority <> 0"
# Closed addresses, as the partial status index has it (migration 0029).
CLOSED = "status NOT IN ('received', 'in_assessment')"


class ReportedUrlRow(Base):
    """A normalised URL: the thing an analyst assesses, however many reports name it. It is
    also the queue item: its claim and verdict live here (hotline.assess.queue)."""

    __tablename__ = "reported_urls"
    __table_args__ = (
        # The queue (hotline.assess.queue): open items only, by priority level, then oldest
        # first, so that every page is a plain index range. Same predicate as the queries.
        Index(
            "ix_reported_urls_waiting",
            "priority",
            "first_reported_at",
            "id",
            sqlite_where=text(WAITING),
            postgresql_where=text(WAITING),
        ),
        # The queue's "all states" list (hotline.assess.queue_list): a status filter in
        # first-report order, a raised-priority filter likewise, the sorts by priority and by
        # reports, the claim filter (claimed addresses only).
        Index(
            "ix_reported_urls_status_first",
            "status",
            "first_reported_at",
            "id",
            sqlite_where=text(CLOSED),
            postgresql_where=text(CLOSED),
        ),
        Index(
            "ix_reported_urls_priority_first",
            "priority",
            "first_reported_at",
            "id",
            sqlite_where=text(RAISED),
            postgresql_where=text(RAISED),
        ),
        Index("ix_reported_urls_priority_id", "priority", "id"),
        Index("ix_reported_urls_report_count_id", "report_count", "id"),
        Index(
            "ix_reported_urls_claimed_by",
            "claimed_by",
            sqlite_where=text(CLAIMED),
            postgresql_where=text(CLAIMED),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of normalised URL
    normalized_url: Mapped[str] = mapped_column(Text)
    host: Mapped[str] = mapped_column(String(255), index=True)
    # UrlStatus. Not indexed by itself: open items are in ix_reported_urls_waiting, closed
    # ones in ix_reported_urls_status_first.
    status: Mapped[str] = mapped_column(String(32))
    report_count: Mapped[int] = mapped_column(Integer)
    first_reported_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    last_reported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    priority: Mapped[int] = mapped_column(Integer, server_default="0")
    claimed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    claim_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    verdict: Mapped[str | None] = mapped_column(String(32), nullable=True)  # Verdict
    verdict_reason: Mapped[str | None] = mapped_column(String(64), nullable=True)
    verdict_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    verdict_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    verdict_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # When the content was found gone (takedown); the URL list drops it then.
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    duplicate_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("reported_urls.id"), nullable=True
    )
    # For the published figures (hotline.stats): derived from the host (intake.domains) ...
    # Indexed for the staff search by domain (hotline.assess.reports_list).
    domain: Mapped[str | None] = mapped_column(String(255), nullable=True, index=True)
    tld: Mapped[str | None] = mapped_column(String(63), nullable=True)
    # ... and recorded with the verdict (assess.site_types); None: not recorded.
    site_type: Mapped[str | None] = mapped_column(String(32), nullable=True)
    hosting: Mapped[str | None] = mapped_column(String(8), nullable=True)  # free or paid


class ReportRow(Base):
    __tablename__ = "reports"
    __table_args__ = (
        # The staff reports list's filters, each in received order (hotline.assess.reports_list).
        Index("ix_reports_source_created", "source", "created_at", "id"),
        Index("ix_reports_origin_created", "origin", "created_at", "id"),
        Index("ix_reports_country_created", "country", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    url_id: Mapped[int] = mapped_column(ForeignKey("reported_urls.id"), index=True)
    submitted_url: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    email_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    content_type: Mapped[str] = mapped_column(String(16))
    country: Mapped[str | None] = mapped_column(String(2), nullable=True)
    source: Mapped[str] = mapped_column(String(16))  # web form or api
    # Origin: who found it (public, proactive, partner_hotline, member, child_self_report).
    origin: Mapped[str] = mapped_column(String(24), server_default="public")
    is_duplicate: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

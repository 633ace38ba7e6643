"""Tables for reported URLs and the public reports that name them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hotline.db.base import Base, UTCDateTime


class ReportedUrlRow(Base):
    """A normalised URL: the thing an analyst assesses, however many reports name it."""

    __tablename__ = "reported_urls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of normalised URL
    normalized_url: Mapped[str] = mapped_column(Text)
    host: Mapped[str] = mapped_column(String(255), index=True)
    status: Mapped[str] = mapped_column(String(32), index=True)  # UrlStatus
    report_count: Mapped[int] = mapped_column(Integer)
    first_reported_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    last_reported_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ReportRow(Base):
    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    url_id: Mapped[int] = mapped_column(ForeignKey("reported_urls.id"), index=True)
    submitted_url: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    email_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    content_type: Mapped[str] = mapped_column(String(16))
    country: Mapped[str | None] = mapped_column(String(2), nullable=True)
    source: Mapped[str] = mapped_column(String(16))  # web form or api
    is_duplicate: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

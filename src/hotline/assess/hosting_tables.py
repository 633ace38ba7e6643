"""The table of host traces: where a reported URL was hosted, each time it was traced."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hotline.db.base import Base, UTCDateTime


class HostTraceRow(Base):
    """One trace of the address a reported URL was fetched from (hotline.assess.hosting)."""

    __tablename__ = "host_traces"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url_id: Mapped[int] = mapped_column(ForeignKey("reported_urls.id"), index=True)
    capture_id: Mapped[int | None] = mapped_column(
        ForeignKey("page_captures.id"), nullable=True, index=True
    )
    ip: Mapped[str | None] = mapped_column(String(45), nullable=True)  # None: no address
    outcome: Mapped[str] = mapped_column(String(16))  # TraceOutcome
    asn: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # 32-bit unsigned
    organisation: Mapped[str | None] = mapped_column(Text, nullable=True)
    network: Mapped[str | None] = mapped_column(String(64), nullable=True)  # CIDR
    country: Mapped[str | None] = mapped_column(String(2), nullable=True, index=True)
    abuse_emails: Mapped[str | None] = mapped_column(Text, nullable=True)  # comma-separated
    sources: Mapped[str] = mapped_column(Text)  # JSON: field -> resolver that answered it
    traced_at: Mapped[datetime] = mapped_column(UTCDateTime)
    details: Mapped[str] = mapped_column(Text)  # JSON: per-resolver details, answered, errors

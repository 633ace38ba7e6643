"""The rate-limit counters shared by every web process (PostgreSQL; `ratelimit_shared`)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hotline.db.base import Base


class RateLimitCounterRow(Base):
    """Hits of one client in one fixed window. `key` is "scope:client key" (an HMAC, never
    an address); times are whole Unix seconds. `expires_at` (window start + window) lets old
    windows of every scope be pruned through one index."""

    __tablename__ = "rate_limit_counters"

    key: Mapped[str] = mapped_column(String(96), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_rate_limit_counters_expires_at", "expires_at"),)

"""The published figures' cache (hotline.stats.figures): every figure of every year, as the
public page and the open data serve it, suppression applied; and the one refresh lease."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hotline.db.base import Base, UTCDateTime


class StatsFigureRow(Base):
    __tablename__ = "stats_figures"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    figure: Mapped[str] = mapped_column(String(48), primary_key=True)  # figures.FIGURES
    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # the cell: "A", "FR", "total"
    position: Mapped[int] = mapped_column(Integer)  # order of the cells within a figure
    value: Mapped[float | None] = mapped_column(Float, nullable=True)  # None: suppressed
    suppressed: Mapped[bool] = mapped_column(Boolean)


class StatsRefreshRow(Base):
    """One row (id 1): who holds the refresh lease, and when the cache was last written."""

    __tablename__ = "stats_refresh"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    generation: Mapped[int] = mapped_column(Integer)
    threshold: Mapped[int] = mapped_column(Integer)  # the suppression threshold it applied

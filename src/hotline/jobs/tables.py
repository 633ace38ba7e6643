"""The durable job table: work and schedules that survive restarts (hotline.jobs.queue)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hotline.db.base import Base, UTCDateTime


class JobRow(Base):
    """One unit of background work. A worker claims it with a lease; `lease_token` changes on
    every claim, so a worker whose lease ran out cannot complete a job another worker now
    holds (a fencing token)."""

    __tablename__ = "jobs"
    __table_args__ = (
        # The claim query: due jobs of a state, oldest due first.
        Index("ix_jobs_due", "state", "run_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    payload: Mapped[str] = mapped_column(Text)  # JSON object
    # At most one live (queued or running) job per key, e.g. "recheck:42"; cleared when done.
    dedupe_key: Mapped[str | None] = mapped_column(String(128), unique=True, nullable=True)
    state: Mapped[str] = mapped_column(String(16))  # JobState
    run_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer)
    max_attempts: Mapped[int] = mapped_column(Integer)
    lease_owner: Mapped[str | None] = mapped_column(String(128), nullable=True)
    lease_token: Mapped[str | None] = mapped_column(String(32), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

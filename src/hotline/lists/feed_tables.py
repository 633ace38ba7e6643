"""Tables for exchange feeds (migration 0020): hash lists pulled from NCMEC, StopNCII,
ThreatExchange or a local file through python-threatexchange's exchange clients.

A feed fills one hotline hash list. Its checkpoint is the exchange client's own fetch
checkpoint (threatexchange's dataclass JSON), written in the transaction that stores the
page it follows, so a fetch killed mid-way resumes after the last page it committed. Each
entry a feed added has a provenance row naming the exchange's record, which is how a
tombstone (a withdrawal) finds the entry it withdraws.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hotline.db.base import Base, UTCDateTime


class ExchangeFeedRow(Base):
    """One configured feed: which exchange (`api`), its collaboration settings, the list it
    fills, its schedule, its checkpoint and what its fetches did. Credentials are never
    stored here: they come from the environment (docs/exchanges.md)."""

    __tablename__ = "exchange_feeds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    api: Mapped[str] = mapped_column(String(32))  # ncmec, stopncii, fb_threatexchange, file
    list_id: Mapped[int] = mapped_column(ForeignKey("hash_lists.id"))
    category: Mapped[str] = mapped_column(String(32))  # the label its entries get
    settings: Mapped[str] = mapped_column(Text, default="{}")  # JSON: environment, base URL...
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    interval_s: Mapped[int] = mapped_column(Integer)  # how often the schedule fetches
    next_fetch_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The client's checkpoint (None: never fetched) and how many pages moved it: a fetch
    # only commits a page if the count is still the one it started from (two runs of one
    # feed never store a page twice).
    checkpoint: Mapped[str | None] = mapped_column(Text, nullable=True)
    checkpoint_seq: Mapped[int] = mapped_column(Integer, default=0)
    checkpoint_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_status: Mapped[str] = mapped_column(String(16), default="never")  # ok, error, never
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Totals over the feed's life: records received, entries added, entries withdrawn,
    # records skipped (types hotline cannot match on, tombstones of unknown records).
    records_total: Mapped[int] = mapped_column(Integer, default=0)
    added_total: Mapped[int] = mapped_column(Integer, default=0)
    withdrawn_total: Mapped[int] = mapped_column(Integer, default=0)
    skipped_total: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ExchangeFeedRecordRow(Base):
    """Provenance: the exchange record (NCMEC `member-id`, StopNCII `pdq:HASH`, a
    ThreatExchange `HASH_PDQ:HASH`) behind a live entry the feed added."""

    __tablename__ = "exchange_feed_records"
    __table_args__ = (Index(None, "entry_id"),)

    feed_id: Mapped[int] = mapped_column(ForeignKey("exchange_feeds.id"), primary_key=True)
    record_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("hash_list_entries.id"))

"""Tables for industry members, their API keys, and the hash lists they match against.

Each list carries a `version` that goes up by one with every change to its entries; an entry
remembers the version that last changed it (`changed_in`: when added, or when withdrawn).
Writers lock the list's row while they change it, so versions commit in order and a reader
that has applied version V only needs the entries with `changed_in > V` (see docs/matching.md).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hotline.db.base import Base, UTCDateTime


class MemberRow(Base):
    """An industry member: an organisation that matches content against the lists."""

    __tablename__ = "members"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MemberKeyRow(Base):
    """One API key. Only a SHA-256 of the key is kept: keys are 256-bit random, so a fast hash
    is enough, and the key itself is shown once when issued."""

    __tablename__ = "member_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)  # public; names the key
    key_sha256: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[str] = mapped_column(Text)  # JSON array of the list names it may match
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class MemberKeyCallsRow(Base):
    """Calls answered for one key on one UTC day: a count and nothing else. Counted in memory
    by the match API's audit writer and added with the batch it commits (migration 0028)."""

    __tablename__ = "member_key_calls"

    key_id: Mapped[int] = mapped_column(
        ForeignKey("member_keys.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    calls: Mapped[int] = mapped_column(Integer)


class HashListRow(Base):
    __tablename__ = "hash_lists"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    pdq_max_distance: Mapped[int] = mapped_column(Integer, default=31)
    # The maximum distance of every other distance signal type the list overrides (vPDQ
    # frames, plug-ins), as a JSON object {name: whole number}; PDQ's is pdq_max_distance.
    max_distances: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")
    version: Mapped[int] = mapped_column(Integer, default=0)  # bumped by every change
    # What a release shares (hotline.lists.model.ListConfig as JSON); where an imported list
    # came from (None for the hotline's own lists).
    config: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")
    source: Mapped[str | None] = mapped_column(Text, nullable=True)
    # "hash" (matched by the match API), "url" (confirmed URLs) or "keyword" (curated terms):
    # one versioned, released list machinery for all three.
    kind: Mapped[str] = mapped_column(String(16), default="hash", server_default="hash")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class HashListEntryRow(Base):
    """One known item on a list: any of its exact digests and its PDQ hash, and its category."""

    __tablename__ = "hash_list_entries"
    __table_args__ = (
        Index(None, "list_id", "changed_in"),
        Index(None, "list_id", "media_id"),
        Index(None, "list_id", "url_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("hash_lists.id"))
    md5: Mapped[str | None] = mapped_column(String(32), nullable=True)
    sha1: Mapped[str | None] = mapped_column(String(40), nullable=True)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    pdq: Mapped[str | None] = mapped_column(String(64), nullable=True)
    pdq_quality: Mapped[int | None] = mapped_column(Integer, nullable=True)
    category: Mapped[str] = mapped_column(String(32))  # "A", "B", "C" or another label
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    changed_in: Mapped[int] = mapped_column(Integer)  # the list version that last changed it
    # History by version, so any release can be rebuilt and any delta computed:
    # live at version V when added_in <= V and not (withdrawn_in <= V).
    added_in: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    withdrawn_in: Mapped[int | None] = mapped_column(Integer, nullable=True)
    withdrawn_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Shared grade fields and derived jurisdiction categories (JSON), the graded media item it
    # came from, and the provenance of an imported entry.
    shared: Mapped[str | None] = mapped_column(Text, nullable=True)
    media_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    source: Mapped[str | None] = mapped_column(Text, nullable=True)
    # URL and keyword lists: the URL or term, a staff note, and the reported URL it came from.
    value: Mapped[str | None] = mapped_column(Text, nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    url_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class HashListEntrySignalRow(Base):
    """A plug-in signal type's hash of one list entry (built-ins stay in hash_list_entries):
    a signal type added through the `hotline.signal_types` entry point needs no new column."""

    __tablename__ = "hash_list_entry_signals"
    __table_args__ = (
        Index("ix_hash_list_entry_signals_signal_type_value", "signal_type", "value"),
    )

    entry_id: Mapped[int] = mapped_column(ForeignKey("hash_list_entries.id"), primary_key=True)
    signal_type: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(Text)

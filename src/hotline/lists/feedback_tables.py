"""Members' feedback on list entries: a false positive or a confirmation, one per member and
entry, reviewed by staff (migration 0021)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hotline.db.base import Base, UTCDateTime


class MemberFeedbackRow(Base):
    """What a member said about one entry, and what staff decided. A repeat from the same
    member updates the open row (so the unique pair holds); a decided row is final."""

    __tablename__ = "member_feedback"
    __table_args__ = (
        UniqueConstraint("member_id", "entry_id"),
        Index(None, "state", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("hash_lists.id"))
    entry_id: Mapped[int] = mapped_column(ForeignKey("hash_list_entries.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    key_prefix: Mapped[str] = mapped_column(String(16))  # the key that sent it (public part)
    verdict: Mapped[str] = mapped_column(String(16))  # "false_positive" or "confirmed"
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    state: Mapped[str] = mapped_column(String(16))  # "open", "upheld" or "rejected"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(128), nullable=True)

"""Members' webhooks and each release's delivery to them (migration 0021)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hotline.db.base import Base, UTCDateTime


class MemberWebhookRow(Base):
    """Where a member hears of new releases. Registered with one of its keys: it hears of the
    lists that key may read, and stops hearing when the key is revoked. The signing secret is
    sealed (AES-GCM under a key derived from the secret key): it must be read to sign."""

    __tablename__ = "member_webhooks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    key_id: Mapped[int] = mapped_column(ForeignKey("member_keys.id"))
    url: Mapped[str] = mapped_column(Text)
    secret_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class WebhookDeliveryRow(Base):
    """One release told to one webhook: "pending" while the job retries, then "delivered",
    "failed" (attempts spent, or a permanent refusal by the receiver) or "refused" (the
    address is not one we may call: the SSRF guard)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (UniqueConstraint("webhook_id", "list_name", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("member_webhooks.id"))
    list_name: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

"""Tables for media found on reported pages, grades, and analysts' viewing (wellbeing)."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hotline.db.base import Base, UTCDateTime
from hotline.intake.domains import site_domain, without_www
from hotline.intake.urls import UrlError, parse_url


@lru_cache(maxsize=1024)  # the two column defaults read the same address, row after row
def source_place(url: str) -> tuple[str | None, str | None]:
    """(host, site domain) of the address an item was found at, as intake reads a host
    (lower case, IDNA, no port, no leading "www."); (None, None) for one with no host (a case set's
    `taskforce:` name). Both are stored so that the media list's domain filter is one
    indexed equality rather than a pattern over every address."""
    try:
        host = parse_url(url).host
    except UrlError:
        try:
            host = (urlsplit(url).hostname or "").lower()
        except ValueError:
            host = ""
    if not host or len(host) > 255:
        return None, None
    host = without_www(host)
    return host, site_domain(host)[0]


def _source_host(context: Any) -> str | None:
    return source_place(context.get_current_parameters()["source_url"])[0]


def _source_domain(context: Any) -> str | None:
    return source_place(context.get_current_parameters()["source_url"])[1]


class MediaItemRow(Base):
    """One image or video found on a reported page (or imported), by its hashes."""

    __tablename__ = "media_items"
    __table_args__ = (
        # The media items list (hotline.grading.media_list): found order, a state filter in
        # found order, a PDQ prefix search (SHA-256 and MD5 have their own indexes).
        Index("ix_media_items_created", "created_at", "id"),
        Index("ix_media_items_status_created", "status", "created_at", "id"),
        Index("ix_media_items_pdq", "pdq"),
        # The domain and host filters in found order (migration 0030).
        Index("ix_media_items_domain_created", "source_domain", "created_at", "id"),
        Index("ix_media_items_host_created", "source_host", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url_id: Mapped[int | None] = mapped_column(
        ForeignKey("reported_urls.id"), nullable=True, index=True
    )
    source_url: Mapped[str] = mapped_column(Text)
    # Where it was found, derived from source_url on every insert (the defaults read the
    # row's source_url), so no code path that adds items can leave them out of the filter.
    source_host: Mapped[str | None] = mapped_column(
        String(255), nullable=True, default=_source_host
    )
    source_domain: Mapped[str | None] = mapped_column(
        String(255), nullable=True, default=_source_domain
    )
    kind: Mapped[str] = mapped_column(String(8))  # image or video
    md5: Mapped[str] = mapped_column(String(32), index=True)
    sha1: Mapped[str] = mapped_column(String(40))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    pdq: Mapped[str | None] = mapped_column(String(64), nullable=True)
    pdq_quality: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Videos: the vPDQ, one `frame,quality,pdq,timestamp` line a frame (Meta's text format).
    vpdq: Mapped[str | None] = mapped_column(Text, nullable=True)
    byte_count: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), index=True)  # MediaStatus
    stored: Mapped[bool] = mapped_column(Boolean)  # encrypted bytes kept (not hash-only)
    purge_after: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    inherited_from: Mapped[int | None] = mapped_column(ForeignKey("media_items.id"), nullable=True)
    final_grade: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON of Grade fields
    qa_sampled: Mapped[bool] = mapped_column(Boolean)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set by the database (trigger, migration 0016) when the item becomes finally graded or
    # its grade or hashes change: the known-material index reads past the marker it applied.
    known_seq: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    # A grade inherited from a hash list's entry (not a graded item): the list, its
    # provenance (`hash_lists.source`, None for our own lists), the entry and its label.
    inherited_list: Mapped[str | None] = mapped_column(String(64), nullable=True)
    inherited_list_source: Mapped[str | None] = mapped_column(Text, nullable=True)
    inherited_entry: Mapped[int | None] = mapped_column(Integer, nullable=True)
    inherited_category: Mapped[str | None] = mapped_column(String(32), nullable=True)


class MediaSignalRow(Base):
    """A plug-in signal type's hash of one media item (built-ins stay in media_items)."""

    __tablename__ = "media_signals"
    __table_args__ = (Index("ix_media_signals_signal_type_value", "signal_type", "value"),)

    media_id: Mapped[int] = mapped_column(ForeignKey("media_items.id"), primary_key=True)
    signal_type: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PageCaptureRow(Base):
    """The evidence of one capture of a reported page (see hotline.assess.evidence)."""

    __tablename__ = "page_captures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url_id: Mapped[int] = mapped_column(ForeignKey("reported_urls.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    item_count: Mapped[int] = mapped_column(Integer)
    new_items: Mapped[int] = mapped_column(Integer)
    known_items: Mapped[int] = mapped_column(Integer)
    failed_items: Mapped[int] = mapped_column(Integer)
    evidence: Mapped[str] = mapped_column(Text)  # JSON: page and item fetch evidence


class GradeRow(Base):
    """One grader's independent grade; a grader grades an item once."""

    __tablename__ = "grades"
    __table_args__ = (UniqueConstraint("media_id", "grader_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    media_id: Mapped[int] = mapped_column(ForeignKey("media_items.id"), index=True)
    grader_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    is_resolution: Mapped[bool] = mapped_column(Boolean)  # a senior's deciding grade
    fields: Mapped[str] = mapped_column(Text)  # JSON of Grade fields
    category: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class GradeChildRow(Base):
    """One child recorded in one grade (migration 0018): several children in one image are
    recorded one by one; the grade's age band is the youngest's (model.derive_children)."""

    __tablename__ = "grade_children"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    grade_id: Mapped[int] = mapped_column(ForeignKey("grades.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    age_band: Mapped[str] = mapped_column(String(8))
    sex: Mapped[str | None] = mapped_column(String(16), nullable=True)


class MediaViewRow(Base):
    """Exposure: each thumbnail page and each reveal an analyst saw, with seconds charged."""

    __tablename__ = "media_views"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    media_id: Mapped[int | None] = mapped_column(ForeignKey("media_items.id"), nullable=True)
    kind: Mapped[str] = mapped_column(String(16))  # thumbnails, reveal, break
    seconds: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class StaffPreferenceRow(Base):
    __tablename__ = "staff_preferences"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    blur_strength: Mapped[int] = mapped_column(Integer)

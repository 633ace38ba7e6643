"""Tables of proactive search: the allow-list, crawls, their frontier (one row per page,
unique per crawl, so nothing is fetched twice), media claims, hosts' politeness state, and
the classifier's scores."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from hotline.db.base import Base, UTCDateTime


class CrawlAllowedDomainRow(Base):
    """A registrable domain an analyst confirmed as a source of material: crawls may start
    there without a criminal verdict on the seed URL, until the entry expires."""

    __tablename__ = "crawl_allowed_domains"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    domain: Mapped[str] = mapped_column(String(255), unique=True)
    reason: Mapped[str] = mapped_column(Text)
    added_by: Mapped[str] = mapped_column(String(128))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CrawlRow(Base):
    """One crawl: where it started and why it may, its rules (JSON), state and counts."""

    __tablename__ = "crawls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seed_url: Mapped[str] = mapped_column(Text)
    seed_host: Mapped[str] = mapped_column(String(255))
    basis: Mapped[str] = mapped_column(String(16))  # "verdict" or "allow_list"
    basis_ref: Mapped[str] = mapped_column(String(255))  # the reported URL's id, or the domain
    scope: Mapped[str] = mapped_column(Text)  # JSON of scope.ScopeRules
    politeness: Mapped[str] = mapped_column(Text)  # JSON of politeness.Politeness
    robots_override: Mapped[str | None] = mapped_column(Text, nullable=True)  # legal basis
    keep_bytes: Mapped[bool] = mapped_column(Boolean)
    state: Mapped[str] = mapped_column(String(16))  # running, stopped, finished
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    pages: Mapped[int] = mapped_column(Integer)  # pages fetched
    media: Mapped[int] = mapped_column(Integer)  # media items hashed and matched
    known: Mapped[int] = mapped_column(Integer)
    unknown: Mapped[int] = mapped_column(Integer)
    errors: Mapped[int] = mapped_column(Integer)
    skipped: Mapped[int] = mapped_column(Integer)  # links refused by scope, deny-list, robots
    likely_new: Mapped[int] = mapped_column(Integer)  # pages the classifier routed up


class CrawlPageRow(Base):
    """A page of a crawl's frontier. Unique per crawl by its canonical URL."""

    __tablename__ = "crawl_pages"
    __table_args__ = (
        UniqueConstraint("crawl_id", "url_hash", name="uq_crawl_pages_crawl_id_url_hash"),
        Index("ix_crawl_pages_crawl_id_state", "crawl_id", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    crawl_id: Mapped[int] = mapped_column(ForeignKey("crawls.id"))
    url_hash: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(Text)
    depth: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))  # queued, done, error, skipped
    tries: Mapped[int] = mapped_column(Integer)  # 429/5xx answers so far
    status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    media: Mapped[int] = mapped_column(Integer)
    known: Mapped[int] = mapped_column(Integer)
    unknown: Mapped[int] = mapped_column(Integer)
    url_id: Mapped[int | None] = mapped_column(ForeignKey("reported_urls.id"), nullable=True)
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class CrawlMediaRow(Base):
    """A media URL claimed by one page of a crawl: fetched once per crawl, however many
    pages show it (a re-run of the same page, after a killed worker, fetches it again)."""

    __tablename__ = "crawl_media"
    __table_args__ = (
        UniqueConstraint("crawl_id", "url_hash", name="uq_crawl_media_crawl_id_url_hash"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    crawl_id: Mapped[int] = mapped_column(ForeignKey("crawls.id"))
    url_hash: Mapped[str] = mapped_column(String(64))
    page_id: Mapped[int] = mapped_column(Integer)


class CrawlHostRow(Base):
    """A host of a crawl: its politeness state (shared by every worker) and the robots.txt
    decision recorded for it."""

    __tablename__ = "crawl_hosts"
    __table_args__ = (UniqueConstraint("crawl_id", "host", name="uq_crawl_hosts_crawl_id_host"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    crawl_id: Mapped[int] = mapped_column(ForeignKey("crawls.id"))
    host: Mapped[str] = mapped_column(String(300))  # host[:port]
    next_at: Mapped[datetime] = mapped_column(UTCDateTime)  # no request starts before
    in_flight: Mapped[str] = mapped_column(Text)  # JSON: the held slots' expiry (epoch seconds)
    backoff_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    failures: Mapped[int] = mapped_column(Integer)  # consecutive 429/5xx answers
    requests: Mapped[int] = mapped_column(Integer)
    robots_state: Mapped[str | None] = mapped_column(String(32), nullable=True)
    robots_rules: Mapped[str | None] = mapped_column(Text, nullable=True)  # the robots.txt read


class CrawlScoreRow(Base):
    """What the classifier said of a new media item: priority only, never a verdict."""

    __tablename__ = "crawl_scores"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    crawl_id: Mapped[int] = mapped_column(ForeignKey("crawls.id"), index=True)
    media_id: Mapped[int] = mapped_column(ForeignKey("media_items.id"), index=True)
    scores: Mapped[str] = mapped_column(Text)  # JSON {label: score}
    model: Mapped[str] = mapped_column(String(128))
    model_version: Mapped[str] = mapped_column(String(128))
    scored_at: Mapped[datetime] = mapped_column(UTCDateTime)
    top_score: Mapped[float] = mapped_column(Float)
    likely_new: Mapped[bool] = mapped_column(Boolean)

"""Advice hub tables: age-band guides, and resources (videos, links, helplines) with texts.

Text is stored per language; language-neutral facts (a URL, a phone number, a country) live
once on the resource, so translations cannot disagree about where a link goes.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column

from hotline.db.base import Base, UTCDateTime


class AgeGuideRow(Base):
    """One age band's advice in one language."""

    __tablename__ = "advice_age_guides"
    __table_args__ = (UniqueConstraint("age_band", "language"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    age_band: Mapped[str] = mapped_column(String(16))  # AgeBand value
    language: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(120))
    summary: Mapped[str] = mapped_column(String(300))
    body_md: Mapped[str] = mapped_column(Text)  # Markdown, rendered through the sanitiser
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(128))


class ResourceRow(Base):
    """A video, an advice link or a helpline; kind-specific columns are empty for the others."""

    __tablename__ = "advice_resources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)  # stable key; seeding uses it
    kind: Mapped[str] = mapped_column(String(16), index=True)  # ResourceKind value
    url: Mapped[str] = mapped_column(String(500))
    category: Mapped[str | None] = mapped_column(String(16), nullable=True)  # links
    country: Mapped[str | None] = mapped_column(String(2), nullable=True)  # helplines
    phone: Mapped[str | None] = mapped_column(String(32), nullable=True)  # helplines
    media_language: Mapped[str | None] = mapped_column(String(8), nullable=True)  # videos
    is_example: Mapped[bool] = mapped_column(Boolean)  # placeholder entry, labelled as such
    position: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(128))


class ResourceTextRow(Base):
    """A resource's title and summary in one language."""

    __tablename__ = "advice_resource_texts"
    __table_args__ = (UniqueConstraint("resource_id", "language"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_id: Mapped[int] = mapped_column(
        ForeignKey("advice_resources.id", ondelete="CASCADE"), index=True
    )
    language: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(120))
    summary: Mapped[str] = mapped_column(String(500))


class CampaignRow(Base):
    """An awareness campaign (e.g. one run with partner ministries and companies): its dates
    and partners, whatever the language. Titles and summaries are per language."""

    __tablename__ = "advice_campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)  # the page's address
    partners: Mapped[str] = mapped_column(Text)  # one partner's name per line
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date, nullable=True)  # None: still running
    is_example: Mapped[bool] = mapped_column(Boolean)  # placeholder entry, labelled as such
    position: Mapped[int] = mapped_column(Integer)
    # Unpublished: kept with its texts, videos and views, but its page answers 404.
    published: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(128))


class CampaignTextRow(Base):
    """A campaign's title and summary in one language."""

    __tablename__ = "advice_campaign_texts"
    __table_args__ = (UniqueConstraint("campaign_id", "language"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("advice_campaigns.id", ondelete="CASCADE"), index=True
    )
    language: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(120))
    summary: Mapped[str] = mapped_column(String(500))


class CampaignVideoRow(Base):
    """A campaign's video: an ordinary video resource (its language, titles and link live
    there and stay editable in the advice editor), listed on the campaign's page."""

    __tablename__ = "advice_campaign_videos"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("advice_campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    resource_id: Mapped[int] = mapped_column(
        ForeignKey("advice_resources.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class CampaignVisitRow(Base):
    """Page views of a campaign on one UTC day: a count and nothing else (no address, no
    browser details, no cookie). Written in batches (hotline.advice.campaigns.VisitCounter)."""

    __tablename__ = "advice_campaign_visits"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("advice_campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    views: Mapped[int] = mapped_column(Integer)

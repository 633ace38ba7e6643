"""Proactive search: the crawl allow-list, crawls, their frontier pages, media claims, hosts'
politeness and robots.txt state, and classifier scores (hotline.proactive).

Additive: new tables only.

Revision ID: 0023_proactive_crawl
Revises: 0022_stats_verdicts
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hotline.db.base import UTCDateTime

revision: str = "0023_proactive_crawl"
down_revision: str | None = "0022_stats_verdicts"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def _crawl_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["crawl_id"], ["crawls.id"], name=f"fk_{table}_crawl_id_crawls")


def upgrade() -> None:
    op.create_table(
        "crawl_allowed_domains",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("domain", sa.String(255), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("added_by", sa.String(128), nullable=False),
        sa.Column("added_at", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_crawl_allowed_domains"),
        sa.UniqueConstraint("domain", name="uq_crawl_allowed_domains_domain"),
    )
    counts = ("pages", "media", "known", "unknown", "errors", "skipped", "likely_new")
    op.create_table(
        "crawls",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("seed_url", sa.Text, nullable=False),
        sa.Column("seed_host", sa.String(255), nullable=False),
        sa.Column("basis", sa.String(16), nullable=False),
        sa.Column("basis_ref", sa.String(255), nullable=False),
        sa.Column("scope", sa.Text, nullable=False),
        sa.Column("politeness", sa.Text, nullable=False),
        sa.Column("robots_override", sa.Text, nullable=True),
        sa.Column("keep_bytes", sa.Boolean, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        *(sa.Column(name, sa.Integer, nullable=False) for name in counts),
        sa.PrimaryKeyConstraint("id", name="pk_crawls"),
    )
    op.create_table(
        "crawl_pages",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("crawl_id", sa.Integer, nullable=False),
        sa.Column("url_hash", sa.String(64), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("depth", sa.Integer, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("tries", sa.Integer, nullable=False),
        sa.Column("status", sa.Integer, nullable=True),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("media", sa.Integer, nullable=False),
        sa.Column("known", sa.Integer, nullable=False),
        sa.Column("unknown", sa.Integer, nullable=False),
        sa.Column("url_id", sa.Integer, nullable=True),
        sa.Column("fetched_at", UTCDateTime, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_crawl_pages"),
        _crawl_fk("crawl_pages"),
        sa.ForeignKeyConstraint(
            ["url_id"], ["reported_urls.id"], name="fk_crawl_pages_url_id_reported_urls"
        ),
        sa.UniqueConstraint("crawl_id", "url_hash", name="uq_crawl_pages_crawl_id_url_hash"),
    )
    op.create_index("ix_crawl_pages_crawl_id_state", "crawl_pages", ["crawl_id", "state"])
    op.create_table(
        "crawl_media",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("crawl_id", sa.Integer, nullable=False),
        sa.Column("url_hash", sa.String(64), nullable=False),
        sa.Column("page_id", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_crawl_media"),
        _crawl_fk("crawl_media"),
        sa.UniqueConstraint("crawl_id", "url_hash", name="uq_crawl_media_crawl_id_url_hash"),
    )
    op.create_table(
        "crawl_hosts",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("crawl_id", sa.Integer, nullable=False),
        sa.Column("host", sa.String(300), nullable=False),
        sa.Column("next_at", UTCDateTime, nullable=False),
        sa.Column("in_flight", sa.Text, nullable=False),
        sa.Column("backoff_until", UTCDateTime, nullable=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("requests", sa.Integer, nullable=False),
        sa.Column("robots_state", sa.String(32), nullable=True),
        sa.Column("robots_rules", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_crawl_hosts"),
        _crawl_fk("crawl_hosts"),
        sa.UniqueConstraint("crawl_id", "host", name="uq_crawl_hosts_crawl_id_host"),
    )
    op.create_table(
        "crawl_scores",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("crawl_id", sa.Integer, nullable=False),
        sa.Column("media_id", sa.Integer, nullable=False),
        sa.Column("scores", sa.Text, nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("model_version", sa.String(128), nullable=False),
        sa.Column("scored_at", UTCDateTime, nullable=False),
        sa.Column("top_score", sa.Float, nullable=False),
        sa.Column("likely_new", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_crawl_scores"),
        _crawl_fk("crawl_scores"),
        sa.ForeignKeyConstraint(
            ["media_id"], ["media_items.id"], name="fk_crawl_scores_media_id_media_items"
        ),
    )
    op.create_index("ix_crawl_scores_crawl_id", "crawl_scores", ["crawl_id"])
    op.create_index("ix_crawl_scores_media_id", "crawl_scores", ["media_id"])


def downgrade() -> None:
    for table in (
        "crawl_scores",
        "crawl_hosts",
        "crawl_media",
        "crawl_pages",
        "crawls",
        "crawl_allowed_domains",
    ):
        op.drop_table(table)

"""What the published statistics count by, and their cache (hotline.stats, docs/statistics.md).

- `reports.origin`: who found the URL (public, proactive, partner_hotline, member,
  child_self_report), beside `reports.source`, the channel it came through (web, api,
  partner). Existing reports were all public, except partner hotlines' forwards (source
  "partner"), which become partner_hotline.
- `reported_urls.domain`, `.tld` (derived from the host by `intake.domains`; filled here for
  every existing URL), `.site_type` and `.hosting` (free or paid), recorded with the verdict;
  existing verdicts did not record them, so they stay empty: "not recorded" in the figures.
- `site_types`: the editable list of site types, seeded with image host, cyberlocker, forum,
  website, image board, social network, search result, other.
- `stats_figures` (the cache of every published figure) and `stats_refresh` (its one lease).

Revision ID: 0022_stats_verdicts
Revises: 0021_member_feedback
Create Date: 2026-12-05
"""

import ipaddress
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hotline.db.base import UTCDateTime

revision: str = "0022_stats_verdicts"
down_revision: str | None = "0021_member_feedback"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

SITE_TYPES = [
    ("image_host", "Image host", "Hébergeur d'images"),
    ("cyberlocker", "Cyberlocker", "Cyberlocker"),
    ("forum", "Forum", "Forum"),
    ("website", "Website", "Site web"),
    ("image_board", "Image board", "Image board"),
    ("social_network", "Social network", "Réseau social"),
    ("search_result", "Search result", "Résultat de recherche"),
    ("other", "Other", "Autre"),
]


# intake.domains.site_domain as it was when this ran (the floor imports no capability, and a
# migration keeps what it did).
_PUBLIC_SECOND_LEVELS = frozenset(
    {"ac", "co", "com", "edu", "gov", "net", "org", "ne", "or", "gob", "gouv", "govt", "nic"}
)


def site_domain(host: str) -> tuple[str, str | None]:
    bare = host.strip("[]").rstrip(".").lower()
    try:
        ipaddress.ip_address(bare)
        return bare, None
    except ValueError:
        pass
    labels = bare.split(".")
    if len(labels) == 1:
        return bare, None
    keep = (
        3
        if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _PUBLIC_SECOND_LEVELS
        else 2
    )
    return ".".join(labels[-keep:]), labels[-1]


def upgrade() -> None:
    with op.batch_alter_table("reports") as batch:
        batch.add_column(
            sa.Column("origin", sa.String(24), nullable=False, server_default="public")
        )
    op.execute("UPDATE reports SET origin = 'partner_hotline' WHERE source = 'partner'")

    for column in (
        sa.Column("domain", sa.String(255), nullable=True),
        sa.Column("tld", sa.String(63), nullable=True),
        sa.Column("site_type", sa.String(32), nullable=True),
        sa.Column("hosting", sa.String(8), nullable=True),
    ):
        op.add_column("reported_urls", column)
    conn = op.get_bind()
    urls = sa.table(
        "reported_urls", sa.column("id"), sa.column("host"), sa.column("domain"), sa.column("tld")
    )
    rows = conn.execute(sa.select(urls.c.id, urls.c.host)).all()
    for url_id, host in rows:
        domain, tld = site_domain(host)
        conn.execute(urls.update().where(urls.c.id == url_id).values(domain=domain, tld=tld))

    site_types = op.create_table(
        "site_types",
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("label_en", sa.String(64), nullable=False),
        sa.Column("label_fr", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_site_types"),
    )
    op.bulk_insert(
        site_types,
        [
            {"code": c, "label_en": en, "label_fr": fr, "position": i, "active": True}
            for i, (c, en, fr) in enumerate(SITE_TYPES)
        ],
    )
    op.create_table(
        "stats_figures",
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("figure", sa.String(48), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("suppressed", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("year", "figure", "key", name="pk_stats_figures"),
    )
    op.create_table(
        "stats_refresh",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("holder", sa.String(64), nullable=True),
        sa.Column("lease_until", UTCDateTime, nullable=True),
        sa.Column("refreshed_at", UTCDateTime, nullable=True),
        sa.Column("generation", sa.Integer, nullable=False),
        sa.Column("threshold", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_stats_refresh"),
    )
    op.execute("INSERT INTO stats_refresh (id, generation, threshold) VALUES (1, 0, 10)")


def downgrade() -> None:
    op.drop_table("stats_refresh")
    op.drop_table("stats_figures")
    op.drop_table("site_types")
    for name in ("hosting", "site_type", "tld", "domain"):
        op.drop_column("reported_urls", name)
    with op.batch_alter_table("reports") as batch:
        batch.drop_column("origin")

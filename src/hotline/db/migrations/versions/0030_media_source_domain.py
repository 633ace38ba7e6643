"""Media items: the host ("www." dropped) and site domain of the address each was found at,
each indexed with (created_at, id), so that the media list's domain or host filter is one
indexed equality in found order. It was an OR of ten patterns over every item's address:
3-4.5 s a page at 1,000,000 items on SQLite.

New items get both from their source_url as they are inserted (the table's column defaults,
hotline.grading.tables.source_place); existing items are filled here, a batch at a time, with
the same reading of a host as it was when this ran (the floor imports no capability).

Revision ID: 0030_media_source_domain
Revises: 0029_staff_lists_indexes
Create Date: 2026-12-06
"""

import ipaddress
from collections.abc import Sequence
from urllib.parse import urlsplit

import sqlalchemy as sa
from alembic import op

revision: str = "0030_media_source_domain"
down_revision: str | None = "0029_staff_lists_indexes"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

BATCH = 5_000
INDEXES = (
    ("ix_media_items_domain_created", "source_domain"),
    ("ix_media_items_host_created", "source_host"),
)
_PUBLIC_SECOND_LEVELS = frozenset(
    {"ac", "co", "com", "edu", "gov", "net", "org", "ne", "or", "gob", "gouv", "govt", "nic"}
)


def _host(url: str) -> str | None:
    try:
        host = (urlsplit(url.strip()).hostname or "").rstrip(".").lower()
        if host and not host.isascii():
            host = host.encode("idna").decode("ascii")
    except (ValueError, UnicodeError):
        return None
    if not host or len(host) > 255:
        return None
    return host[4:] if host.startswith("www.") and host.count(".") >= 2 else host


def _site_domain(host: str) -> str:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    labels = host.split(".")
    keep = (
        3
        if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _PUBLIC_SECOND_LEVELS
        else 2
    )
    return ".".join(labels[-keep:])


def upgrade() -> None:
    with op.batch_alter_table("media_items") as batch:
        batch.add_column(sa.Column("source_host", sa.String(255), nullable=True))
        batch.add_column(sa.Column("source_domain", sa.String(255), nullable=True))
    bind = op.get_bind()
    after = 0
    while True:
        rows = bind.execute(
            sa.text(
                "SELECT id, source_url FROM media_items WHERE id > :after ORDER BY id LIMIT :n"
            ),
            {"after": after, "n": BATCH},
        ).all()
        if not rows:
            break
        after = rows[-1][0]
        changes = []
        for media_id, url in rows:
            host = _host(url or "")
            if host is not None:
                changes.append({"id": media_id, "host": host, "domain": _site_domain(host)})
        if changes:
            bind.execute(
                sa.text(
                    "UPDATE media_items SET source_host = :host, source_domain = :domain "
                    "WHERE id = :id"
                ),
                changes,
            )
    for name, column in INDEXES:
        op.create_index(name, "media_items", [column, "created_at", "id"])


def downgrade() -> None:
    for name, _ in reversed(INDEXES):
        op.drop_index(name, table_name="media_items")
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+), not batch mode: a batch copy of the
    # table would drop migration 0016's triggers on SQLite.
    op.drop_column("media_items", "source_domain")
    op.drop_column("media_items", "source_host")
